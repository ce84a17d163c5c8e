"""Impact analysis ("what depends on this dataset version / model version") and the review
request: the promoted versions are marked and their deployments listed, strangers see
nothing, the query count does not grow with the estate, and a review request tells the
reviewers and admins, is audited, and changes no stage."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.exceptions import ValidationError

from apps.core.models import AuditEvent
from apps.lineage.impact import impact_of, impact_review_request
from apps.notifications.models import InboxItem
from apps.registry.models import ModelVersion, Stage
from tests.deployments.conftest import deployment_factory  # noqa: F401
from tests.registry.conftest import model_version_factory  # noqa: F401

pytestmark = pytest.mark.django_db
IMPACT = "/lineage/impact/"
REVIEW = "/lineage/impact/review/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def estate(world, model_version_factory, deployment_factory):  # noqa: F811
    """Three versions of `churn` trained on one dataset version; v2 promoted to staging and
    served (stable) by churn-staging, v3 promoted to production and served by churn-production,
    where v1 is the canary candidate of that revision. An unrelated model on other data."""
    v1 = model_version_factory()
    dv = v1.dataset_version
    v2 = model_version_factory(dataset_version=dv, stage=Stage.STAGING)
    v3 = model_version_factory(dataset_version=dv, stage=Stage.PRODUCTION)
    staging, _ = deployment_factory(stable=v2)
    production, _ = deployment_factory(stable=v3, candidate=v1, strategy="canary",
                                       canary_percent=10, slug="churn-production",
                                       environment="production")  # fmt: skip
    other = model_version_factory(name="other", stage=Stage.STAGING)
    deployment_factory(stable=other, slug="other-staging")
    return {"dv": dv, "v1": v1, "v2": v2, "v3": v3, "staging": staging,
            "production": production, "other": other}  # fmt: skip


def test_promoted_versions_are_marked_and_their_deployments_listed(world, estate):
    impact = impact_of(user=world.users["vera"], kind="dataset_version", pk=estate["dv"].pk)
    by_pk = {a.version.pk: a for a in impact.versions}
    assert set(by_pk) == {estate["v1"].pk, estate["v2"].pk, estate["v3"].pk}
    assert {pk for pk, a in by_pk.items() if a.live} == {estate["v2"].pk, estate["v3"].pk}
    assert [(s.deployment.slug, s.role) for s in by_pk[estate["v2"].pk].serving] == [
        ("churn-staging", "stable")
    ]
    assert [(s.deployment.slug, s.role) for s in by_pk[estate["v3"].pk].serving] == [
        ("churn-production", "stable")
    ]
    assert [(s.deployment.slug, s.role) for s in by_pk[estate["v1"].pk].serving] == [
        ("churn-production", "candidate")
    ]
    assert impact.counts == {"models": 3, "staging": 1, "production": 1, "deployments": 2}

    html = (
        client_for(world.users["vera"])
        .get(IMPACT, {"node": f"dataset_version:{estate['dv'].pk}"}, **HTMX)
        .content.decode()
    )
    assert html.count('data-live="1"') == 2
    for version in ("v2", "v3"):
        assert f'data-model-version="{estate[version].pk}" data-stage' in html
    assert 'data-deployment="churn-staging"' in html
    assert 'data-deployment="churn-production"' in html
    assert "other-staging" not in html
    assert 'data-counts-models="3"' in html and 'data-counts-deployments="2"' in html
    assert "Request a review" not in html  # vera is a viewer


def test_a_model_version_lists_the_deployments_serving_it(world, estate):
    client = client_for(world.users["vera"])
    html = client.get(IMPACT, {"node": f"model_version:{estate['v3'].pk}"}, **HTMX).content.decode()
    assert 'data-deployment="churn-production"' in html
    assert 'data-deployment="churn-staging"' not in html
    assert 'data-counts-deployments="1"' in html and 'data-counts-production="1"' in html
    # The full page (no htmx) is the same block with the site around it.
    page = client.get(IMPACT, {"node": f"model_version:{estate['v1'].pk}"})
    assert page.status_code == 200 and b"<nav" in page.content
    assert b"candidate" in page.content


def test_the_object_pages_load_the_block(world, estate):
    client = client_for(world.users["vera"])
    dv_page = client.get(f"/dataset-versions/{estate['dv'].pk}/").content.decode()
    assert f"/lineage/impact/?node=dataset_version:{estate['dv'].pk}" in dv_page
    assert f"/lineage/?node=dataset_version:{estate['dv'].pk}" in dv_page
    mv_page = client.get(f"/models/versions/{estate['v2'].pk}/").content.decode()
    assert f"/lineage/impact/?node=model_version:{estate['v2'].pk}" in mv_page
    assert f"/lineage/?node=model_version:{estate['v2'].pk}" in mv_page


def test_strangers_and_other_projects_are_hidden(world, estate, model_version_factory):  # noqa: F811
    eve = client_for(world.users["eve"])
    assert eve.get(IMPACT, {"node": f"dataset_version:{estate['dv'].pk}"}).status_code == 404
    assert eve.get(IMPACT, {"node": f"model_version:{estate['v2'].pk}"}).status_code == 404
    post = eve.post(REVIEW, {"node": f"dataset_version:{estate['dv'].pk}", "reason": "x"})
    assert post.status_code == 404
    # A beta model trained on alpha's data is beta's business: vera (alpha) does not see it.
    theirs = model_version_factory(project=world.beta, name="beta-model",
                                   dataset_version=estate["dv"], stage=Stage.STAGING)  # fmt: skip
    impact = impact_of(user=world.users["vera"], kind="dataset_version", pk=estate["dv"].pk)
    assert theirs.pk not in {a.version.pk for a in impact.versions}
    vera = client_for(world.users["vera"])
    for bad in ("planet:1", "dataset_version:x", "deployment:1", "", "dataset_version:99999999"):
        assert vera.get(IMPACT, {"node": bad}).status_code == 404


def test_query_count_does_not_grow(world, estate, model_version_factory, deployment_factory,  # noqa: F811
                                   django_assert_num_queries):  # fmt: skip
    user = world.users["vera"]
    with django_assert_num_queries(3):
        small = impact_of(user=user, kind="dataset_version", pk=estate["dv"].pk)
    for i in range(6):
        version = model_version_factory(name=f"extra{i}", dataset_version=estate["dv"])
        deployment_factory(stable=version, slug=f"extra-{i}", environment="production")
    with django_assert_num_queries(3):
        big = impact_of(user=user, kind="dataset_version", pk=estate["dv"].pk)
    assert len(big.versions) == len(small.versions) + 6 and len(big.deployments) == 8
    with django_assert_num_queries(2):
        impact_of(user=user, kind="model_version", pk=estate["v3"].pk)
    client = client_for(user)
    client.get(IMPACT, {"node": f"dataset_version:{estate['dv'].pk}"}, **HTMX)

    def page_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            client.get(IMPACT, {"node": f"dataset_version:{estate['dv'].pk}"}, **HTMX)
        return len(ctx.captured_queries)

    before = page_queries()
    model_version_factory(dataset_version=estate["dv"], stage=Stage.NONE)
    assert page_queries() == before <= 8


def test_review_request_notifies_reviewers_and_admins_and_is_audited(world, estate):
    stages_before = dict(ModelVersion.objects.values_list("pk", "stage"))
    carl = client_for(world.users["carl"])
    node = f"dataset_version:{estate['dv'].pk}"
    response = carl.post(REVIEW, {"node": node, "reason": "Labels of May are shifted by one."})
    assert response.status_code == 302
    assert response["Location"] == f"/dataset-versions/{estate['dv'].pk}/#impact"
    items = InboxItem.objects.filter(event="lineage.review_requested")
    assert {i.user.username for i in items} == {"alice", "rita"}
    body = items.first().body
    assert "Labels of May are shifted by one." in body
    for version in ("v1", "v2", "v3"):
        assert f"churn v{estate[version].version}" in body
    assert "churn-production" in body and "churn-staging" in body
    assert items.first().url == f"/lineage/impact/?node={node}"
    event = AuditEvent.objects.get(action="lineage.review_requested")
    assert event.actor_username == "carl" and event.project_id == world.alpha.pk
    assert event.object_id == str(estate["dv"].pk)
    assert event.changes["reason"] == "Labels of May are shifted by one."
    assert {m["model_version"] for m in event.changes["model_versions"]} == {
        estate["v1"].pk, estate["v2"].pk, estate["v3"].pk
    }  # fmt: skip
    assert sorted(event.changes["deployments"]) == ["churn-production", "churn-staging"]
    assert dict(ModelVersion.objects.values_list("pk", "stage")) == stages_before
    followed = carl.get(response["Location"])
    assert b"Review requested for 3 model versions" in followed.content


def test_review_request_refusals(world, estate):
    node = f"dataset_version:{estate['dv'].pk}"
    vera = client_for(world.users["vera"])
    assert vera.post(REVIEW, {"node": node, "reason": "wrong data"}).status_code == 403
    carl = client_for(world.users["carl"])
    empty = carl.post(REVIEW, {"node": node, "reason": "   "})
    assert empty.status_code == 400
    assert b'id="reason-error"' in empty.content
    assert not AuditEvent.objects.filter(action="lineage.review_requested").exists()
    assert not InboxItem.objects.filter(event="lineage.review_requested").exists()
    with pytest.raises(ValidationError) as error:
        impact_review_request(actor=world.users["carl"], kind="dataset_version",
                              pk=estate["dv"].pk, reason="")  # fmt: skip
    assert "reason" in error.value.detail


def test_nothing_to_review_is_refused(world, model_version_factory):  # noqa: F811
    version = model_version_factory()
    ModelVersion.objects.filter(pk=version.pk).update(dataset_version=None)
    from apps.experiments.models import TrainingJob

    dv = version.dataset_version
    assert TrainingJob.objects.filter(pk=version.training_job_id, dataset_version=dv).exists()
    impact = impact_of(user=world.users["carl"], kind="dataset_version", pk=dv.pk)
    assert len(impact.versions) == 1  # found through its training job alone
    ModelVersion.objects.filter(pk=version.pk).update(training_job=None)
    with pytest.raises(ValidationError) as error:
        impact_review_request(actor=world.users["carl"], kind="dataset_version", pk=dv.pk,
                              reason="bad rows")  # fmt: skip
    assert "node" in error.value.detail
