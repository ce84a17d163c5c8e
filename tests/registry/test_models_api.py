"""`/api/v1/models/` and `/api/v1/model-versions/`: fields, filters, project scoping, compare,
history with ?at=, and query counts that do not grow with 1,000 versions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.experiments.models import Run, RunStatus
from apps.registry.models import (
    ModelVersion,
    PromotionRequest,
    Review,
    StageChange,
)

pytestmark = pytest.mark.django_db


def bulk_versions(model, count: int, start: int) -> None:
    """Cheap rows: no training job, no dataset version (lists must not care)."""
    ModelVersion.objects.bulk_create(
        ModelVersion(
            registered_model=model,
            version=start + i,
            mlflow_run_id=uuid.uuid4().hex,
            source=f"models:/{model.name}/{start + i}",
            metrics={"accuracy": 0.5 + i / 10_000},
        )
        for i in range(count)
    )


def promote(version, *, stage, at, requester, approvers=(), from_stage="none", comment=""):
    """A stage change as an approved request leaves it (request, reviews, history row)."""
    request = PromotionRequest.objects.create(
        model_version=version, target=stage, justification="better", status="approved",
        requested_by=requester, approvals_required=len(approvers) or 1, gates_passed=True,
        gates=[{"name": "metric_floor", "passed": True}], expires_at=at + timedelta(days=7),
        decided_at=at,
    )  # fmt: skip
    for user in approvers:
        Review.objects.create(request=request, reviewer=user, decision="approve", comment=comment)
    return StageChange.objects.create(
        model_version=version, from_stage=from_stage, to_stage=stage, request=request,
        changed_by=approvers[-1] if approvers else requester, at=at,
    )  # fmt: skip


def test_models_list_fields_and_filters(world, api, model_version_factory):
    model_version_factory(name="churn")
    model_version_factory(name="churn", stage="staging")
    model_version_factory(name="churn", stage="production")
    model_version_factory(name="other-beta", project=world.beta)
    body = api(world.users["vera"]).get("/api/v1/models/").json()
    assert body["count"] == 1
    churn = body["results"][0]
    assert churn["name"] == "churn" and churn["project"] == "alpha"
    assert churn["version_count"] == 3 and churn["latest_version"] == 3
    assert churn["staging"] == 2 and churn["production"] == 3
    assert churn["card"] == {}
    root = api(world.users["root"])
    assert root.get("/api/v1/models/?project=beta").json()["count"] == 1
    assert root.get("/api/v1/models/?name=churn").json()["results"][0]["name"] == "churn"
    assert api(world.users["eve"]).get(f"/api/v1/models/{churn['id']}/").status_code == 404


def test_version_fields_lineage_and_code_version(world, api, model_version_factory):
    version = model_version_factory(validation_passed=False, job_status="succeeded")
    training = version.training_job
    Run.objects.create(
        experiment=training.experiment, mlflow_run_id=version.mlflow_run_id, training_job=training,
        status=RunStatus.FINISHED, tags={"portal.code_version": "abc1234", "mlflow.x": "y"},
    )  # fmt: skip
    version.stage_changed_by = world.users["rita"]
    version.save()
    body = api(world.users["vera"]).get(f"/api/v1/model-versions/{version.pk}/").json()
    assert body["code_version"] == "abc1234"
    assert body["training_job"] == training.pk and body["training_job_status"] == "succeeded"
    assert body["dataset_version"] == version.dataset_version_id
    assert body["dataset_version_validation"] == "failed"
    assert body["stage"] == "none" and body["stage_changed_by"] == "rita"
    assert body["signature"]["inputs"][0] == {"name": "x1", "type": "double"}
    assert body["mlflow_run_id"] == version.mlflow_run_id
    assert body["metrics"] == {"accuracy": 0.9, "f1": 0.88}


def test_code_version_falls_back_to_the_git_tag(world, api, model_version_factory):
    version = model_version_factory(validation_passed=None)
    Run.objects.create(
        experiment=version.training_job.experiment, mlflow_run_id=version.mlflow_run_id,
        training_job=version.training_job, status=RunStatus.FINISHED,
        tags={"portal.code_version": "unknown", "mlflow.source.git.commit": "feed42"},
    )  # fmt: skip
    body = api(world.users["vera"]).get(f"/api/v1/model-versions/{version.pk}/").json()
    assert body["code_version"] == "feed42"
    assert body["dataset_version_validation"] is None


def test_version_filters(world, api, model_version_factory):
    a1 = model_version_factory(name="churn")
    model_version_factory(name="churn", stage="production")
    b1 = model_version_factory(name="fraud", stage="staging")
    model_version_factory(name="beta-model", project=world.beta)
    client = api(world.users["carl"])
    assert client.get("/api/v1/model-versions/").json()["count"] == 3
    staged = client.get("/api/v1/model-versions/?stage=staging").json()["results"]
    assert [v["id"] for v in staged] == [b1.pk]
    churn = client.get(f"/api/v1/model-versions/?registered_model={a1.registered_model_id}")
    assert churn.json()["count"] == 2
    assert client.get("/api/v1/model-versions/?project=alpha").json()["count"] == 3
    assert client.get("/api/v1/model-versions/?project=beta").json()["count"] == 0
    assert client.get("/api/v1/model-versions/?stage=nope").status_code == 400


def test_compare_metrics_and_signature(world, api, model_version_factory):
    a = model_version_factory(metrics={"accuracy": 0.8, "loss": 0.5, "f1": 0.7})
    signature = {
        "inputs": [
            {"name": "x1", "type": "double"},
            {"name": "x2", "type": "long"},
            {"name": "region", "type": "string"},
        ],
        "target": "label",
    }
    b = model_version_factory(metrics={"accuracy": 0.85, "loss": 0.6}, signature=signature)
    response = api(world.users["vera"]).get(f"/api/v1/model-versions/compare/?a={a.pk}&b={b.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["a"]["id"] == a.pk and body["b"]["id"] == b.pk
    rows = {m["name"]: m for m in body["metrics"]}
    assert rows["accuracy"]["diff"] == pytest.approx(0.05) and rows["accuracy"]["better"] == "b"
    assert rows["loss"]["direction"] == "min" and rows["loss"]["better"] == "a"
    assert rows["f1"]["b"] is None and rows["f1"]["diff"] is None
    sig = body["signature"]
    assert sig["only_in_a"] == [{"name": "colour", "type": "string"}]
    assert sig["only_in_b"] == [{"name": "region", "type": "string"}]
    assert sig["type_changed"] == [{"name": "x2", "a": "double", "b": "long"}]
    assert sig["same"] is False


def test_compare_refuses_strangers_and_bad_ids(world, api, model_version_factory):
    a = model_version_factory()
    theirs = model_version_factory(name="beta-model", project=world.beta)
    client = api(world.users["vera"])
    assert client.get(f"/api/v1/model-versions/compare/?a={a.pk}&b={theirs.pk}").status_code == 404
    assert client.get(f"/api/v1/model-versions/compare/?a={a.pk}").status_code == 400
    bad = client.get(f"/api/v1/model-versions/compare/?a={a.pk}&b=x").json()
    assert "b" in bad
    assert api(world.users["eve"]).get(
        f"/api/v1/model-versions/compare/?a={theirs.pk}&b={theirs.pk}"
    ).status_code == 200  # fmt: skip


def test_history_and_what_was_in_production_at(world, api, model_version_factory):
    u = world.users
    v1, v2 = model_version_factory(), model_version_factory()
    t0 = timezone.now() - timedelta(days=30)
    promote(v1, stage="staging", at=t0, requester=u["carl"], approvers=[u["rita"]])
    promote(v1, stage="production", at=t0 + timedelta(days=1), requester=u["carl"],
            approvers=[u["rita"], u["alice"]], from_stage="staging", comment="ship it")  # fmt: skip
    promote(v2, stage="staging", at=t0 + timedelta(days=10), requester=u["carl"],
            approvers=[u["rita"]])  # fmt: skip
    swap = t0 + timedelta(days=11)
    StageChange.objects.create(model_version=v1, from_stage="production", to_stage="archived",
                               changed_by=u["alice"], at=swap)  # fmt: skip
    promote(v2, stage="production", at=swap, requester=u["alice"],
            approvers=[u["rita"], u["carl"]], from_stage="staging")  # fmt: skip
    client = api(u["vera"])
    url = f"/api/v1/models/{v1.registered_model_id}/history/"

    body = client.get(url).json()
    assert [(e["version"], e["to_stage"]) for e in body["entries"]] == [
        (2, "production"), (1, "archived"), (2, "staging"), (1, "production"), (1, "staging"),
    ]  # fmt: skip
    first_prod = body["entries"][3]
    assert first_prod["requested_by"] == "carl" and first_prod["approvers"] == ["rita", "alice"]
    assert first_prod["comments"][0]["comment"] == "ship it"
    assert first_prod["gates"] == [{"name": "metric_floor", "passed": True}]
    assert body["stages_at"] is None

    at = (t0 + timedelta(days=5)).isoformat()
    then = client.get(url, {"at": at}).json()["stages_at"]
    assert then["production"]["version"] == 1
    assert then["production"]["approvers"] == ["rita", "alice"]
    assert then["staging"] is None  # v1 left staging for production
    later = client.get(url, {"at": (swap + timedelta(hours=1)).isoformat()}).json()["stages_at"]
    assert later["production"]["version"] == 2 and later["staging"] is None
    before = client.get(url, {"at": (t0 - timedelta(days=1)).isoformat()}).json()["stages_at"]
    assert before["production"] is None and before["staging"] is None
    assert client.get(url, {"at": "yesterday"}).status_code == 400
    assert api(u["eve"]).get(url).status_code == 404


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_query_counts_do_not_grow_with_versions(world, api, model_version_factory):
    first = model_version_factory(stage="production")
    model_version_factory()
    model_version_factory(stage="staging")
    model = first.registered_model
    client = api(world.users["vera"])
    urls = [
        "/api/v1/models/",
        f"/api/v1/models/{model.pk}/",
        f"/api/v1/model-versions/?registered_model={model.pk}",
        "/api/v1/model-versions/",
    ]
    client.get(urls[0])  # the token's first use is recorded once
    small = [_count(client, url) for url in urls]
    bulk_versions(model, 997, start=4)
    assert model.versions.count() == 1000
    assert [_count(client, url) for url in urls] == small
    listed = client.get("/api/v1/models/").json()["results"][0]
    assert listed["version_count"] == 1000 and listed["latest_version"] == 1000
