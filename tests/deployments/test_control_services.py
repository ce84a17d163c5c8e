"""The control plane's rules: strategies, the stage check, rollback, blue-green checks,
serving tokens, and the deployment an approved promotion makes."""

from __future__ import annotations

import hashlib

import pytest
from rest_framework.exceptions import PermissionDenied, ValidationError

from apps.core.models import AuditEvent
from apps.deployments.models import Deployment
from apps.deployments.services import actions
from apps.deployments.services.deployments import deployment_for
from apps.deployments.services.errors import Conflict
from apps.deployments.services.revisions import revision_create
from apps.deployments.services.tokens import deployment_token_rotate
from apps.registry.models import Stage
from apps.registry.services.promotions import promotion_approve, promotion_request_create


@pytest.fixture
def setup(world, model_version_factory):
    """churn v1 staged and deployed directly to churn-staging; v2 (none) made on demand."""
    v1 = model_version_factory(stage=Stage.STAGING)
    deployment = deployment_for(model=v1.registered_model, environment="staging")
    revision_create(actor=world.users["carl"], deployment=deployment, strategy="direct", stable=v1)
    return world, deployment, v1


def _stage(version, stage: str) -> None:
    # Tests move stages directly; the real flow is covered by the approval test below.
    from apps.registry.models import ModelVersion

    ModelVersion.objects.filter(registered_model=version.registered_model, stage=stage).update(
        stage=Stage.NONE
    )
    version.stage = stage
    version.save(update_fields=["stage"])


def test_deployment_for_is_get_or_create_with_a_slug(world, model_version_factory):
    version = model_version_factory(name="Churn Model")
    first = deployment_for(model=version.registered_model, environment="production")
    again = deployment_for(model=version.registered_model, environment="production")
    assert first.pk == again.pk and first.slug == "churn-model-production"
    assert AuditEvent.objects.filter(action="deployment.create").count() == 1


def test_direct_deploy_numbers_revisions_and_audits(setup, model_version_factory):
    world, deployment, _ = setup
    assert deployment.current_revision.number == 1
    v2 = model_version_factory()
    _stage(v2, Stage.STAGING)
    second = revision_create(actor=world.users["carl"], deployment=deployment, strategy="direct",
                             stable=v2, reason="new champion")  # fmt: skip
    deployment.refresh_from_db()
    assert (second.number, deployment.current_revision_id) == (2, second.pk)
    event = AuditEvent.objects.filter(action="deployment.revision").latest("id")
    assert event.changes["revision"] == 2 and event.changes["stable"] == 2
    assert event.actor_username == "carl"


@pytest.mark.parametrize(
    ("strategy", "candidate", "percent", "field"),
    [
        ("direct", True, 0, "candidate"),
        ("direct", False, 10, "canary_percent"),
        ("canary", False, 10, "candidate"),
        ("canary", True, 0, "canary_percent"),
        ("canary", True, 100, "canary_percent"),
        ("shadow", False, 0, "candidate"),
        ("shadow", True, 5, "canary_percent"),
        ("blue_green", False, 0, "candidate"),
        ("rainbow", False, 0, "strategy"),
    ],
)
def test_strategy_rules(setup, model_version_factory, strategy, candidate, percent, field):
    world, deployment, v1 = setup
    v2 = model_version_factory() if candidate else None
    with pytest.raises(ValidationError) as error:
        revision_create(actor=world.users["carl"], deployment=deployment, strategy=strategy,
                        stable=v1, candidate=v2, canary_percent=percent)  # fmt: skip
    assert field in error.value.detail
    assert deployment.revisions.count() == 1


def test_only_versions_approved_for_the_stage_deploy(setup, model_version_factory):
    world, deployment, v1 = setup
    v2 = model_version_factory()  # stage none
    with pytest.raises(Conflict) as error:
        revision_create(actor=world.users["carl"], deployment=deployment, strategy="direct",
                        stable=v2)  # fmt: skip
    assert error.value.status_code == 409 and "stable" in error.value.detail
    with pytest.raises(Conflict) as error:
        revision_create(actor=world.users["carl"], deployment=deployment, strategy="canary",
                        stable=v1, candidate=v2, canary_percent=10)  # fmt: skip
    assert "candidate" in error.value.detail
    production = model_version_factory(stage=Stage.PRODUCTION)
    with pytest.raises(Conflict):
        revision_create(actor=world.users["carl"], deployment=deployment, strategy="direct",
                        stable=production)  # fmt: skip
    assert deployment.revisions.count() == 1


def test_viewer_and_stranger_cannot_deploy(setup):
    world, deployment, v1 = setup
    with pytest.raises(PermissionDenied):
        revision_create(actor=world.users["vera"], deployment=deployment, strategy="direct",
                        stable=v1)  # fmt: skip
    with pytest.raises(Exception) as error:
        revision_create(actor=world.users["eve"], deployment=deployment, strategy="direct",
                        stable=v1)  # fmt: skip
    assert error.value.status_code == 404


def test_canary_percent_promote_and_abort(setup, model_version_factory):
    world, deployment, v1 = setup
    v2 = model_version_factory()
    _stage(v2, Stage.STAGING)  # v1 leaves the stage but served here: it may stay the stable side
    carl = world.users["carl"]
    canary = revision_create(actor=carl, deployment=deployment, strategy="canary", stable=v1,
                             candidate=v2, canary_percent=10, sticky_header="X-User")  # fmt: skip
    raised = actions.canary_set_percent(actor=carl, deployment=deployment, percent=50)
    assert (raised.strategy, raised.canary_percent, raised.sticky_header) == (
        "canary",
        50,
        "X-User",
    )
    with pytest.raises(ValidationError):
        actions.canary_set_percent(actor=carl, deployment=deployment, percent=0)
    promoted = actions.canary_promote(actor=carl, deployment=deployment)
    assert (promoted.strategy, promoted.stable_id, promoted.candidate_id) == ("direct", v2.pk, None)
    with pytest.raises(Conflict):  # no canary any more
        actions.canary_abort(actor=carl, deployment=deployment)
    actions.deployment_rollback(actor=carl, deployment=deployment, to=canary.number)
    aborted = actions.canary_abort(actor=carl, deployment=deployment)
    assert (aborted.strategy, aborted.stable_id) == ("direct", v1.pk)
    assert [r.action for r in deployment.revisions.order_by("number")] == [
        "deploy", "deploy", "canary_percent", "canary_promote", "rollback", "canary_abort",
    ]  # fmt: skip


def test_rollback_restores_the_previous_routing(setup, model_version_factory):
    world, deployment, v1 = setup
    carl = world.users["carl"]
    v2 = model_version_factory()
    _stage(v2, Stage.STAGING)
    canary = revision_create(actor=carl, deployment=deployment, strategy="canary", stable=v1,
                             candidate=v2, canary_percent=20)  # fmt: skip
    actions.canary_promote(actor=carl, deployment=deployment)
    back = actions.deployment_rollback(actor=carl, deployment=deployment)
    assert (back.strategy, back.stable_id, back.candidate_id, back.canary_percent) == (
        "canary", v1.pk, v2.pk, 20)  # fmt: skip
    assert back.rolled_back_to_id == canary.pk and back.action == "rollback"
    # Rolling back again walks further back, to the first direct revision on v1.
    again = actions.deployment_rollback(actor=carl, deployment=deployment)
    assert (again.strategy, again.stable_id, again.rolled_back_to.number) == ("direct", v1.pk, 1)
    deployment.refresh_from_db()
    assert deployment.current_revision_id == again.pk


def test_rollback_with_no_previous_revision_is_409(setup, world, model_version_factory):
    _, deployment, _ = setup
    with pytest.raises(Conflict) as error:
        actions.deployment_rollback(actor=world.users["carl"], deployment=deployment)
    assert error.value.status_code == 409
    empty = deployment_for(model=model_version_factory(name="other").registered_model,
                           environment="production")  # fmt: skip
    with pytest.raises(Conflict):
        actions.deployment_rollback(actor=world.users["carl"], deployment=empty)


def test_blue_green_loads_the_candidate_first(setup, model_version_factory, monkeypatch):
    world, deployment, v1 = setup
    v2 = model_version_factory()
    _stage(v2, Stage.STAGING)
    from apps.deployments.selectors import serving

    monkeypatch.setattr(serving, "model_check", lambda version: "MlflowException: no artifact")
    with pytest.raises(Conflict) as error:
        revision_create(actor=world.users["carl"], deployment=deployment, strategy="blue_green",
                        stable=v1, candidate=v2)  # fmt: skip
    assert "no artifact" in str(error.value.detail["candidate"])
    deployment.refresh_from_db()
    assert deployment.current_revision.number == 1 and deployment.revisions.count() == 1
    assert "no artifact" in deployment.last_error and deployment.last_error_at is not None

    monkeypatch.setattr(serving, "model_check", lambda version: None)
    switched = revision_create(actor=world.users["carl"], deployment=deployment,
                               strategy="blue_green", stable=v1, candidate=v2)  # fmt: skip
    deployment.refresh_from_db()
    assert deployment.current_revision_id == switched.pk and deployment.last_error == ""


def test_token_rotate_stores_only_a_hash(setup):
    world, deployment, _ = setup
    token = deployment_token_rotate(actor=world.users["carl"], deployment=deployment)
    assert token.startswith("srv_") and len(token) > 30
    stored = Deployment.objects.get(pk=deployment.pk)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.token_hint == token[-4:] and stored.token_rotated_at is not None
    assert token not in str(list(Deployment.objects.filter(pk=deployment.pk).values()))
    event = AuditEvent.objects.get(action="deployment.token_rotate")
    assert token not in str(event.changes)
    second = deployment_token_rotate(actor=world.users["alice"], deployment=deployment)
    assert second != token
    with pytest.raises(PermissionDenied):
        deployment_token_rotate(actor=world.users["vera"], deployment=deployment)


def test_approved_promotion_deploys_the_version(world, model_version_factory):
    v1 = model_version_factory()
    request = promotion_request_create(actor=world.users["carl"], model_version=v1,
                                       target="staging", justification="first")  # fmt: skip
    promotion_approve(actor=world.users["rita"], request=request)
    deployment = Deployment.objects.get(registered_model=v1.registered_model, environment="staging")
    revision = deployment.current_revision
    assert deployment.slug == "churn-staging"
    assert (revision.number, revision.strategy, revision.stable_id) == (1, "direct", v1.pk)
    assert revision.promotion_request_id == request.pk and revision.action == "promotion"
    assert revision.created_by == world.users["rita"]

    v2 = model_version_factory()
    second = promotion_request_create(actor=world.users["carl"], model_version=v2,
                                      target="staging", justification="better")  # fmt: skip
    promotion_approve(actor=world.users["rita"], request=second)
    deployment.refresh_from_db()
    assert (deployment.current_revision.number, deployment.current_revision.stable_id) == (2, v2.pk)
    # The replaced champion served here: rolling back to it is allowed.
    back = actions.deployment_rollback(actor=world.users["carl"], deployment=deployment)
    assert back.stable_id == v1.pk


def test_a_canary_policy_deploys_the_approved_version_beside_the_current_one(
    world, model_version_factory
):
    from apps.registry.services.policies import policy_update

    v1 = model_version_factory()
    policy_update(
        actor=world.users["alice"], model=v1.registered_model, stage="staging",
        approvals_required=1, deploy_strategy="canary", canary_percent=25,
    )  # fmt: skip
    first = promotion_request_create(actor=world.users["carl"], model_version=v1,
                                     target="staging", justification="first")  # fmt: skip
    promotion_approve(actor=world.users["rita"], request=first)
    deployment = Deployment.objects.get(registered_model=v1.registered_model, environment="staging")
    # Nothing served before: the first version takes all traffic.
    assert deployment.current_revision.strategy == "direct"

    v2 = model_version_factory()
    second = promotion_request_create(actor=world.users["carl"], model_version=v2,
                                      target="staging", justification="better")  # fmt: skip
    promotion_approve(actor=world.users["rita"], request=second)
    deployment.refresh_from_db()
    revision = deployment.current_revision
    assert (revision.strategy, revision.stable_id, revision.candidate_id) == (
        "canary",
        v1.pk,
        v2.pk,
    )
    assert revision.canary_percent == 25 and revision.promotion_request_id == second.pk
    # The canary is then promoted as usual.
    promoted = actions.canary_promote(actor=world.users["carl"], deployment=deployment)
    assert (promoted.strategy, promoted.stable_id) == ("direct", v2.pk)
