"""/api/v1/deployments/: list and filters, create, revisions, rollback, canary, token; roles
(viewer 403 on writes, strangers 404) and each refusal's status code."""

from __future__ import annotations

import pytest

from apps.deployments.models import Deployment
from apps.deployments.services.deployments import deployment_for
from apps.deployments.services.revisions import revision_create
from apps.registry.models import ModelVersion, Stage

URL = "/api/v1/deployments/"


@pytest.fixture
def deployed(world, model_version_factory):
    """churn v1 (staging) live on churn-staging; v2 waits in stage none."""
    v1 = model_version_factory(stage=Stage.STAGING)
    v2 = model_version_factory()
    deployment = deployment_for(model=v1.registered_model, environment="staging")
    revision_create(actor=world.users["carl"], deployment=deployment, strategy="direct", stable=v1)
    return deployment, v1, v2


def _stage(version, stage):
    ModelVersion.objects.filter(registered_model=version.registered_model, stage=stage).update(
        stage=Stage.NONE
    )
    ModelVersion.objects.filter(pk=version.pk).update(stage=stage)


def test_list_retrieve_and_filter(world, api, deployed, model_version_factory):
    _, v1, _ = deployed
    other = model_version_factory(project=world.beta, name="beta-model")
    deployment_for(model=other.registered_model, environment="production")
    body = api(world.users["vera"]).get(URL, {"project": "alpha"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["slug"] == "churn-staging" and row["environment"] == "staging"
    assert row["model"] == {"id": v1.registered_model_id, "name": "churn"}
    assert row["current_revision"]["number"] == 1
    assert row["current_revision"]["stable"]["version"] == 1
    assert row["endpoint"].endswith("/serve/churn-staging/predict")
    assert row["has_token"] is False
    assert api(world.users["vera"]).get(URL).json()["count"] == 1  # beta's is not listed
    assert api(world.users["vera"]).get(f"{URL}churn-staging/").status_code == 200
    assert api(world.users["eve"]).get(f"{URL}churn-staging/").status_code == 404
    assert api(world.users["vera"]).get(f"{URL}nope/").status_code == 404
    assert api().get(URL).status_code in (401, 403)


def test_create_for_a_model_and_environment(world, api, deployed):
    _, v1, _ = deployed
    body = {"model": v1.registered_model_id, "environment": "production"}
    assert api(world.users["vera"]).post(URL, body).status_code == 403
    assert api(world.users["eve"]).post(URL, body).status_code == 404
    created = api(world.users["carl"]).post(URL, body)
    assert created.status_code == 201 and created.json()["slug"] == "churn-production"
    assert created.json()["current_revision"] is None
    assert api(world.users["carl"]).post(URL, body).status_code == 200  # already there
    bad = api(world.users["carl"]).post(URL, {"model": "x", "environment": "qa"})
    assert bad.status_code == 400 and set(bad.json()) == {"model", "environment"}


def test_revisions_timeline_and_deploy(world, api, deployed):
    deployment, v1, v2 = deployed
    url = f"{URL}{deployment.slug}/revisions/"
    carl = api(world.users["carl"])
    refused = carl.post(url, {"strategy": "direct", "stable": v2.pk})
    assert refused.status_code == 409 and "stable" in refused.json()
    _stage(v2, Stage.STAGING)
    canary = {"strategy": "canary", "stable": v1.pk, "candidate": v2.pk, "canary_percent": 10}
    assert api(world.users["vera"]).post(url, canary).status_code == 403
    assert api(world.users["eve"]).post(url, canary).status_code == 404
    made = carl.post(url, {**canary, "sticky_header": "X-User", "reason": "try v2"})
    assert made.status_code == 201, made.json()
    assert made.json()["number"] == 2 and made.json()["candidate"]["version"] == 2
    assert carl.post(url, {**canary, "canary_percent": 0}).status_code == 400
    assert "candidate" in carl.post(url, {**canary, "candidate": 999999}).json()
    assert "strategy" in carl.post(url, {**canary, "strategy": "rainbow"}).json()
    assert "sticky_header" in carl.post(url, {**canary, "sticky_header": "a b"}).json()
    timeline = api(world.users["vera"]).get(url).json()
    assert [r["number"] for r in timeline["results"]] == [2, 1]
    assert timeline["results"][0]["created_by"] == "carl"


def test_canary_actions_and_rollback(world, api, deployed):
    deployment, v1, v2 = deployed
    carl = api(world.users["carl"])
    base = f"{URL}{deployment.slug}/"
    assert carl.post(f"{base}canary/", {"percent": 20}).status_code == 409  # not a canary
    _stage(v2, Stage.STAGING)
    carl.post(f"{base}revisions/", {"strategy": "canary", "stable": v1.pk, "candidate": v2.pk,
                                    "canary_percent": 10})  # fmt: skip
    raised = carl.post(f"{base}canary/", {"percent": 30})
    assert raised.status_code == 201 and raised.json()["canary_percent"] == 30
    assert carl.post(f"{base}canary/", {"percent": 30, "action": "abort"}).status_code == 400
    assert carl.post(f"{base}canary/", {}).status_code == 400
    assert carl.post(f"{base}canary/", {"percent": 100}).status_code == 400
    assert api(world.users["vera"]).post(f"{base}canary/", {"action": "promote"}).status_code == 403
    promoted = carl.post(f"{base}canary/", {"action": "promote"})
    assert promoted.json()["strategy"] == "direct" and promoted.json()["stable"]["id"] == v2.pk
    back = carl.post(f"{base}rollback/", {})
    assert back.status_code == 201 and back.json()["strategy"] == "canary"
    assert back.json()["rolled_back_to"] == 3
    to_first = carl.post(f"{base}rollback/", {"revision": 1, "reason": "bad day"})
    assert to_first.json()["stable"]["id"] == v1.pk and to_first.json()["reason"] == "bad day"
    assert carl.post(f"{base}rollback/", {"revision": 99}).status_code == 409
    assert api(world.users["vera"]).post(f"{base}rollback/", {}).status_code == 403
    assert api(world.users["eve"]).post(f"{base}rollback/", {}).status_code == 404


def test_rollback_without_a_previous_revision_is_409(world, api, deployed):
    deployment, _, _ = deployed
    response = api(world.users["carl"]).post(f"{URL}{deployment.slug}/rollback/", {})
    assert response.status_code == 409 and "previous" in response.json()["detail"]


def test_token_is_answered_once_and_only_hashed(world, api, deployed):
    deployment, _, _ = deployed
    url = f"{URL}{deployment.slug}/token/"
    assert api(world.users["vera"]).post(url).status_code == 403
    assert api(world.users["eve"]).post(url).status_code == 404
    response = api(world.users["carl"]).post(url)
    assert response.status_code == 201
    token = response.json()["token"]
    stored = Deployment.objects.get(pk=deployment.pk)
    assert token.startswith("srv_") and token not in stored.token_hash
    detail = api(world.users["carl"]).get(f"{URL}{deployment.slug}/").json()
    assert detail["has_token"] is True and detail["token_hint"] == token[-4:]
    assert token not in str(detail)
