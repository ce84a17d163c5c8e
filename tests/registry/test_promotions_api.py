"""Promotion requests over the API: every rule of the workflow and each refusal's status code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.notifications.models import InboxItem
from apps.registry.models import ModelVersion, PromotionRequest, StageChange
from apps.registry.services.promotions import promotions_expire

URL = "/api/v1/promotions/"


@pytest.fixture
def ask(world, api):
    """ask(version, target, user="carl") -> response of POST /api/v1/promotions/."""

    def make(version, target="staging", user="carl", justification="Better on holdout."):
        body = {"model_version": version.pk, "target": target, "justification": justification}
        return api(world.users[user]).post(URL, body, format="json")

    return make


def act(api, world, user, request_id, verb, **body):
    return api(world.users[user]).post(f"{URL}{request_id}/{verb}/", body, format="json")


def test_contributor_requests_and_reviewers_are_told(world, ask, model_version_factory):
    version = model_version_factory()
    response = ask(version)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["approvals_required"] == 1
    assert body["requested_by"] == "carl" and body["model"] == "churn" and body["version"] == 1
    assert body["gates_passed"] is True
    assert {g["name"] for g in body["gates"]} >= {"training_job_succeeded", "dataset_validation"}
    told = set(
        InboxItem.objects.filter(event="promotion.requested").values_list(
            "user__username", flat=True
        )
    )
    assert told == {"alice", "rita"}
    assert AuditEvent.objects.filter(action="promotion.request", object_id=str(body["id"])).exists()


def test_bad_requests(world, ask, model_version_factory):
    version = model_version_factory()
    assert ask(version, target="canary").status_code == 400
    assert "target" in ask(version, target="canary").json()
    assert "justification" in ask(version, justification="").json()
    assert ask(version, user="vera").status_code == 403
    assert ask(version, user="eve").status_code == 404  # a stranger's version does not exist
    other = model_version_factory(project=world.beta, name="beta-model")
    assert ask(other).status_code == 404
    assert ask(version).status_code == 201
    duplicate = ask(version)
    assert duplicate.status_code == 409 and "pending" in duplicate.json()["detail"]
    assert PromotionRequest.objects.count() == 1


def test_staging_approval_moves_the_stage(world, api, ask, model_version_factory):
    version = model_version_factory()
    request_id = ask(version).json()["id"]
    response = act(api, world, "rita", request_id, "approve", comment="Looks good")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "approved" and body["approvals"] == 1
    assert (
        body["reviews"][0]["reviewer"] == "rita" and body["reviews"][0]["comment"] == "Looks good"
    )
    version.refresh_from_db()
    assert version.stage == "staging" and version.stage_changed_by == world.users["rita"]
    change = StageChange.objects.get(model_version=version)
    assert (change.from_stage, change.to_stage, change.request_id) == (
        "none",
        "staging",
        request_id,
    )
    assert AuditEvent.objects.filter(action="promotion.promoted").count() == 1
    assert InboxItem.objects.filter(event="promotion.approved", user=world.users["carl"]).exists()
    assert act(api, world, "alice", request_id, "approve").status_code == 409  # closed


def test_who_may_approve(world, api, ask, model_version_factory):
    version = model_version_factory()
    request_id = ask(version).json()["id"]
    assert act(api, world, "carl", request_id, "approve").status_code == 403  # own + contributor
    assert act(api, world, "vera", request_id, "approve").status_code == 403
    assert act(api, world, "eve", request_id, "approve").status_code == 404
    assert act(api, world, "vera", request_id, "reject").status_code == 403
    mine = ask(model_version_factory(), user="alice").json()["id"]
    refused = act(api, world, "alice", mine, "approve")
    assert refused.status_code == 403 and "requested" in refused.json()["detail"]
    assert PromotionRequest.objects.filter(status="pending").count() == 2


def test_production_needs_two_distinct_reviewers_and_replaces_the_champion(
    world, api, ask, model_version_factory
):
    champion = model_version_factory(stage="production", metrics={"accuracy": 0.9})
    staged = model_version_factory(stage="staging", metrics={"accuracy": 0.91})
    request_id = ask(staged, target="production").json()["id"]
    first = act(api, world, "rita", request_id, "approve")
    assert first.status_code == 200 and first.json()["status"] == "pending"
    assert first.json()["approvals"] == 1 and first.json()["approvals_required"] == 2
    assert act(api, world, "rita", request_id, "approve").status_code == 409  # counts once
    assert act(api, world, "alice", request_id, "approve").json()["status"] == "approved"
    champion.refresh_from_db()
    staged.refresh_from_db()
    assert (champion.stage, staged.stage) == ("archived", "production")
    assert not ModelVersion.objects.filter(stage="staging").exists()
    detail = api(world.users["vera"]).get(f"{URL}{request_id}/").json()
    assert detail["champion"]["id"] == champion.pk and detail["approvals"] == 2


def test_staging_champion_goes_back_to_none(world, api, ask, model_version_factory):
    old = model_version_factory(stage="staging")
    new = model_version_factory()
    request_id = ask(new).json()["id"]
    assert act(api, world, "rita", request_id, "approve").json()["status"] == "approved"
    old.refresh_from_db()
    assert old.stage == "none"


def test_one_rejection_closes(world, api, ask, model_version_factory):
    version = model_version_factory(stage="staging")
    request_id = ask(version, target="production").json()["id"]
    assert act(api, world, "rita", request_id, "approve").status_code == 200
    rejected = act(api, world, "alice", request_id, "reject", comment="Not on Friday")
    assert rejected.json()["status"] == "rejected"
    assert act(api, world, "alice", request_id, "reject").status_code == 409
    assert InboxItem.objects.filter(event="promotion.rejected", user=world.users["carl"]).exists()
    version.refresh_from_db()
    assert version.stage == "staging"


def test_cancel(world, api, ask, model_version_factory):
    request_id = ask(model_version_factory()).json()["id"]
    assert act(api, world, "rita", request_id, "cancel").status_code == 403
    assert act(api, world, "carl", request_id, "cancel").json()["status"] == "cancelled"
    assert act(api, world, "carl", request_id, "cancel").status_code == 409
    again = ask(model_version_factory()).json()["id"]
    assert act(api, world, "alice", again, "cancel").json()["status"] == "cancelled"


def test_failing_gates_block_until_an_admin_overrides(world, api, ask, model_version_factory):
    version = model_version_factory(validation_passed=False)
    body = ask(version).json()
    assert body["gates_passed"] is False
    refused = act(api, world, "rita", body["id"], "approve")
    assert refused.status_code == 409 and "dataset_validation" in refused.json()["detail"]
    assert act(api, world, "rita", body["id"], "override", reason="x").status_code == 403
    assert act(api, world, "alice", body["id"], "override", reason="").status_code == 400
    overridden = act(api, world, "alice", body["id"], "override", reason="Rules were wrong")
    assert overridden.json()["override_reason"] == "Rules were wrong"
    assert overridden.json()["override_by"] == "alice"
    approved = act(api, world, "rita", body["id"], "approve")
    assert approved.json()["status"] == "approved" and approved.json()["gates_passed"] is False
    assert AuditEvent.objects.filter(action="promotion.override").exists()


def test_production_without_staging_fails_a_gate(world, ask, model_version_factory):
    body = ask(model_version_factory(), target="production").json()
    staged = next(g for g in body["gates"] if g["name"] == "staged_first")
    assert staged["passed"] is False and body["gates_passed"] is False


def test_expiry(world, api, ask, model_version_factory):
    request_id = ask(model_version_factory()).json()["id"]
    PromotionRequest.objects.filter(pk=request_id).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    refused = act(api, world, "rita", request_id, "approve")
    assert refused.status_code == 409 and "expired" in refused.json()["detail"]
    assert PromotionRequest.objects.get(pk=request_id).status == "expired"
    other = ask(model_version_factory()).json()["id"]
    assert promotions_expire(now=timezone.now() + timedelta(days=8)) == [other]
    assert (
        InboxItem.objects.filter(event="promotion.expired", user=world.users["carl"]).count() == 2
    )


def test_list_filters(world, api, ask, model_version_factory):
    mine = ask(model_version_factory()).json()["id"]
    by_alice = ask(model_version_factory(), user="alice").json()["id"]
    rita, carl, alice = (api(world.users[n]) for n in ("rita", "carl", "alice"))

    def ids(client, query=""):
        response = client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return {r["id"] for r in response.json()["results"]}

    assert ids(rita, "status=pending&reviewable_by=me") == {mine, by_alice}
    assert ids(alice, "reviewable_by=me") == {mine}
    assert ids(carl, "reviewable_by=me") == set()
    assert ids(carl, "requested_by=me") == {mine}
    assert ids(api(world.users["eve"])) == set()
    act(api, world, "rita", mine, "approve")
    assert ids(rita, "status=approved") == {mine}
    assert ids(rita, "reviewable_by=me") == {by_alice}
    assert ids(rita, "target=production") == set()
    assert api(world.users["eve"]).get(f"{URL}{mine}/").status_code == 404
