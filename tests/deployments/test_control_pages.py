"""Deployment pages: list and detail content, buttons by role, strangers 404, the token shown
once, live traffic JSON aggregated from the log, and a constant query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.deployments.models import Deployment, PredictionLog
from apps.deployments.services.deployments import deployment_for
from apps.deployments.services.revisions import revision_create
from apps.registry.models import ModelVersion, Stage


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def deployed(world, model_version_factory):
    v1 = model_version_factory(stage=Stage.STAGING)
    v2 = model_version_factory()
    deployment = deployment_for(model=v1.registered_model, environment="staging")
    revision_create(actor=world.users["carl"], deployment=deployment, strategy="direct", stable=v1)
    ModelVersion.objects.filter(pk=v1.pk).update(stage=Stage.NONE)
    ModelVersion.objects.filter(pk=v2.pk).update(stage=Stage.STAGING)
    v2.stage = Stage.STAGING
    revision_create(actor=world.users["carl"], deployment=deployment, strategy="canary",
                    stable=v1, candidate=v2, canary_percent=25)  # fmt: skip
    return deployment, v1, v2


def test_list_page(world, deployed):
    response = client_for(world.users["vera"]).get("/deployments/")
    assert response.status_code == 200
    assert b"churn-staging" in response.content and b"(25%)" in response.content
    stranger = client_for(world.users["eve"]).get("/deployments/")
    assert b"churn-staging" not in stranger.content
    assert Client().get("/deployments/").status_code == 302


def test_detail_page_shows_routing_timeline_and_curl(world, deployed):
    _deployment, _, _ = deployed
    content = client_for(world.users["carl"]).get("/deployments/churn-staging/").content.decode()
    assert 'data-strategy="canary"' in content and "75%" in content and "25%" in content
    assert 'data-revision="2"' in content and 'data-revision="1"' in content
    assert "Roll back to r1" in content and 'id="canary-controls"' in content
    assert "/serve/churn-staging/predict" in content and "Bearer $TOKEN" in content
    assert "&quot;x1&quot;" in content and "&quot;colour&quot;" in content  # signature columns
    assert 'id="deployment-traffic"' in content
    viewer = client_for(world.users["vera"]).get("/deployments/churn-staging/").content.decode()
    assert "Roll back to r1" not in viewer and "canary-controls" not in viewer
    assert client_for(world.users["eve"]).get("/deployments/churn-staging/").status_code == 404
    assert client_for(world.users["vera"]).get("/deployments/nope/").status_code == 404


def test_last_error_is_shown(world, deployed):
    deployment, _, _ = deployed
    Deployment.objects.filter(pk=deployment.pk).update(
        last_error="OSError: artifact missing", last_error_at=timezone.now()
    )
    content = client_for(world.users["vera"]).get("/deployments/churn-staging/").content
    assert b'id="last-error"' in content and b"artifact missing" in content


def test_buttons_roll_back_change_canary_and_rotate_token(world, deployed):
    deployment, _v1, v2 = deployed
    carl = client_for(world.users["carl"])
    base = "/deployments/churn-staging/"
    assert (
        client_for(world.users["vera"]).post(f"{base}canary/", {"percent": 50}).status_code == 403
    )
    assert client_for(world.users["eve"]).post(f"{base}rollback/", {}).status_code == 404
    assert carl.post(f"{base}canary/", {"percent": 50}).status_code == 302
    deployment.refresh_from_db()
    assert deployment.current_revision.canary_percent == 50
    carl.post(f"{base}canary/", {"action": "promote"})
    deployment.refresh_from_db()
    assert deployment.current_revision.strategy == "direct"
    assert deployment.current_revision.stable_id == v2.pk
    followed = carl.post(f"{base}rollback/", {"revision": "1"}, follow=True)
    assert b"Rolled back: revision 5 is live." in followed.content
    refused = carl.post(f"{base}canary/", {"action": "abort"}, follow=True)
    assert b"this needs canary" in refused.content
    shown = carl.post(f"{base}token/")
    deployment.refresh_from_db()
    assert shown.status_code == 200 and b'id="new-token"' in shown.content
    assert deployment.token_hint.encode() in shown.content
    assert b'id="new-token"' not in carl.get(base).content


def test_traffic_json_per_minute_and_version(world, deployed):
    deployment, v1, v2 = deployed
    now = timezone.now() - timedelta(minutes=2)
    rows = []
    for i in range(40):
        version = v2 if i % 4 == 0 else v1
        rows.append(PredictionLog(
            deployment=deployment, revision_id=deployment.current_revision_id,
            model_version_id=version.pk, request_id=f"r{i}", inputs={}, output=1,
            error="boom" if i == 1 else "", latency_ms=float(i), created_at=now,
        ))  # fmt: skip
    PredictionLog.objects.bulk_create(rows)
    body = client_for(world.users["vera"]).get("/deployments/churn-staging/traffic.json").json()
    series = {s["role"]: s for s in body["series"]}
    assert set(series) == {"stable", "candidate"}
    stable = series["stable"]["points"][0]
    assert stable["requests"] == 30 and stable["error_rate"] == round(1 / 30, 4)
    assert series["candidate"]["points"][0]["requests"] == 10
    assert 0 < stable["p50"] <= stable["p95"] <= 39
    assert (
        client_for(world.users["eve"]).get("/deployments/churn-staging/traffic.json").status_code
        == 404
    )


def test_detail_page_query_count_does_not_grow(world, deployed):
    deployment, v1, _ = deployed

    def count() -> int:
        client = client_for(world.users["vera"])
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/deployments/churn-staging/").status_code == 200
        return len(ctx.captured_queries)

    ModelVersion.objects.filter(pk=v1.pk).update(stage=Stage.NONE)
    for _ in range(1):
        revision_create(actor=world.users["carl"], deployment=deployment, strategy="direct",
                        stable=v1, action="rollback")  # fmt: skip
    few = count()
    for _ in range(27):
        revision_create(actor=world.users["carl"], deployment=deployment, strategy="direct",
                        stable=v1, action="rollback")  # fmt: skip
    assert deployment.revisions.count() == 30
    assert count() == few


def test_model_page_links_its_deployments(world, deployed, model_version_factory):
    deployment, v1, _ = deployed
    other = model_version_factory(name="other", stage=Stage.STAGING)
    deployment_for(model=other.registered_model, environment="staging")
    client = client_for(world.users["vera"])
    model_page = client.get(f"/models/{v1.registered_model_id}/").content.decode()
    assert f'href="/deployments/?model={v1.registered_model_id}"' in model_page
    listed = client.get(f"/deployments/?model={v1.registered_model_id}").content.decode()
    assert deployment.slug in listed and "other-staging" not in listed
