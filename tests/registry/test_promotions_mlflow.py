"""After an approval, MLflow follows: the stage alias points at exactly the approved version.

A real worker trains a real model into the per-test MLflow store; MLflow is then made
unreachable (the portal's state must still be right), brought back (a retried sync fixes it),
and finally the sync runs on the worker, sent from the approval's commit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apps.core.mlflow_store import tracking_client
from apps.experiments.models import TrainingJob
from apps.registry.models import ModelVersion, PromotionRequest
from apps.registry.services.mlflow_sync import promotion_sync_mlflow, promotions_unsynced
from apps.registry.tasks import sync_promotion
from tests.celery_worker import wait_for
from tests.experiments.test_training_api import body

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

LOAD = (
    "import json, sys, mlflow, pandas as pd\n"
    "model = mlflow.pyfunc.load_model(sys.argv[1])\n"
    "raw = pd.DataFrame({'x1': [2.0], 'x2': [1.5], 'colour': ['red'], 'amount': [1.0]})\n"
    "print(json.dumps({'run': model.metadata.run_id,"
    " 'predictions': [str(p) for p in model.predict(raw)]}))\n"
)


def load(uri: str, cwd) -> dict:
    env = {**os.environ, "MLFLOW_TRACKING_URI": settings.MLFLOW_TRACKING_URI}
    done = subprocess.run(
        [sys.executable, "-c", LOAD, uri], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def train(api, world, ready_version, worker) -> ModelVersion:
    response = api(world.users["carl"]).post(
        "/api/v1/training-jobs/",
        body(ready_version, params={"seed": 7, "epochs": 1, "hidden_layers": [8]}),
        format="json",
    )
    assert response.status_code == 201, response.content
    training_id = response.json()["id"]

    def finished() -> bool:
        status = TrainingJob.objects.select_related("job").get(pk=training_id).job.status
        return status in ("succeeded", "failed")

    wait_for(finished, 120, worker.log)
    return ModelVersion.objects.get(training_job_id=training_id)


def promote(api, world, version, target: str, reviewers: tuple[str, ...]) -> int:
    created = api(world.users["carl"]).post(
        "/api/v1/promotions/",
        {"model_version": version.pk, "target": target, "justification": "Ready."},
        format="json",
    )
    assert created.status_code == 201, created.json()
    request_id = created.json()["id"]
    for name in reviewers:
        answer = api(world.users[name]).post(f"/api/v1/promotions/{request_id}/approve/", {})
        assert answer.status_code == 200, answer.json()
    assert PromotionRequest.objects.get(pk=request_id).status == "approved"
    return request_id


def test_mlflow_follows_approvals_even_after_an_outage(
    world, api, ready_version, workers, tmp_path, monkeypatch
):
    worker = workers()
    version = train(api, world, ready_version, worker)
    worker.stop()  # nothing consumes the sync sent during the outage
    store = settings.MLFLOW_TRACKING_URI

    # MLflow down: the approval still commits the right stage; the sync records the error.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"
    request_id = promote(api, world, version, "staging", ("rita",))
    version.refresh_from_db()
    assert version.stage == "staging"
    with pytest.raises(Exception):  # noqa: B017 (whatever the HTTP client raises)
        promotion_sync_mlflow(request_id=request_id)
    request = PromotionRequest.objects.get(pk=request_id)
    assert request.mlflow_error and request.mlflow_synced_at is None

    # MLflow back: the reconcile finds it, a retried sync brings MLflow in line.
    settings.MLFLOW_TRACKING_URI = store
    PromotionRequest.objects.filter(pk=request_id).update(
        decided_at=timezone.now() - timedelta(minutes=5)
    )
    assert promotions_unsynced() == [request_id]
    assert sync_promotion(request_id) is True
    request.refresh_from_db()
    assert request.mlflow_synced_at is not None and request.mlflow_error == ""
    assert promotions_unsynced() == []
    client = tracking_client()
    staged = client.get_model_version_by_alias("churn", "staging")
    assert str(staged.version) == str(version.version)
    assert staged.tags["portal.promotion_request"] == str(request_id)
    assert staged.tags["portal.approvers"] == "rita"
    assert load("models:/churn@staging", tmp_path)["run"] == version.mlflow_run_id

    # Production, with the sync sent on commit to a real worker.
    worker = workers()
    production_id = promote(api, world, version, "production", ("rita", "alice"))
    wait_for(
        lambda: PromotionRequest.objects.get(pk=production_id).mlflow_synced_at is not None,
        60,
        worker.log,
    )
    live = tracking_client().get_model_version_by_alias("churn", "production")
    assert str(live.version) == str(version.version)
    assert live.tags["portal.approvers"] == "rita,alice"
    assert live.tags["portal.stage"] == "production"
    assert "staging" not in tracking_client().get_registered_model("churn").aliases
    loaded = load("models:/churn@production", tmp_path)
    assert loaded["run"] == version.mlflow_run_id and len(loaded["predictions"]) == 1
