"""Training on a real Celery worker on Redis, tracked in a real MLflow store."""

import json
import os
import subprocess
import sys

import mlflow
import pytest
from django.conf import settings

from apps.core.models import AuditEvent
from apps.experiments.models import Run, TrainingJob
from apps.registry.models import ModelVersion
from tests.celery_worker import wait_for
from tests.experiments.test_training_api import body

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def status(training_id: int) -> str:
    return TrainingJob.objects.select_related("job").get(pk=training_id).job.status


def launch(api, world, version, **params) -> int:
    response = api(world.users["carl"]).post(
        "/api/v1/training-jobs/", body(version, params={"seed": 7, **params}), format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_mlp_trains_registers_a_model_that_loads_anywhere(
    world,
    api,
    ready_version,
    workers,
    tmp_path,
):
    worker = workers()
    training_id = launch(api, world, ready_version, epochs=4, hidden_layers=[16])
    wait_for(lambda: status(training_id) in ("succeeded", "failed"), 120, worker.log)
    training = TrainingJob.objects.select_related("job").get(pk=training_id)
    assert training.job.status == "succeeded", training.job.error
    assert training.current_epoch == 4 and len(training.history) == 4
    assert training.metrics["accuracy"] > 0.6
    assert training.resources["device"] == "cpu" and training.cost is not None

    version = ModelVersion.objects.get(training_job=training)
    assert version.dataset_version == ready_version
    assert version.mlflow_run_id == training.mlflow_run_id
    api_view = api(world.users["vera"]).get(f"/api/v1/model-versions/{version.pk}/").json()
    for key in ("name", "version", "mlflow_run_id", "dataset_version", "training_job", "metrics"):
        assert key in api_view
    assert AuditEvent.objects.filter(action="model_version.create").exists()

    # The job's MLflow run is in the runs table at once (no sync needed), with its metrics.
    run = Run.objects.get(training_job=training)
    assert run.mlflow_run_id == training.mlflow_run_id and not run.external
    assert run.status == "FINISHED" and run.dataset_version == ready_version
    assert run.metrics["accuracy"] == pytest.approx(training.metrics["accuracy"])
    assert run.experiment.mlflow_name == "alpha/" + training.experiment.name

    # Any MLflow client on the same store, in another process and folder, loads it by name and
    # predicts raw rows (an unseen category, a missing value).
    script = (
        "import json, sys, mlflow, pandas as pd\n"
        "model = mlflow.pyfunc.load_model(sys.argv[1])\n"
        "raw = pd.DataFrame({'x1': [2.0, -2.0], 'x2': [1.5, None],"
        " 'colour': ['red', 'purple'], 'amount': [1.0, 2.0]})\n"
        "print(json.dumps([str(p) for p in model.predict(raw)]))\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            f"models:/{version.registered_model.name}/{version.version}",
        ],
        cwd=tmp_path,
        env={**os.environ, "MLFLOW_TRACKING_URI": settings.MLFLOW_TRACKING_URI},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    predictions = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(predictions) == 2 and set(predictions) <= {"yes", "no"}
    run = mlflow.MlflowClient(settings.MLFLOW_TRACKING_URI).get_run(training.mlflow_run_id)
    assert run.data.tags["portal.dataset_hash"] == ready_version.content_hash
    assert run.info.status == "FINISHED"


def test_cancel_a_running_job_kills_its_mlflow_run(world, api, ready_version, workers):
    worker = workers()
    training_id = launch(api, world, ready_version, epochs=500, early_stopping_patience=0)
    wait_for(lambda: TrainingJob.objects.get(pk=training_id).current_epoch >= 1, 120, worker.log)
    response = api(world.users["carl"]).post(f"/api/v1/training-jobs/{training_id}/cancel/")
    assert response.json()["status"] == "cancelled"

    def run_killed() -> bool:
        run_id = TrainingJob.objects.get(pk=training_id).mlflow_run_id
        run = mlflow.MlflowClient(settings.MLFLOW_TRACKING_URI).get_run(run_id)
        return run.info.status == "KILLED"

    wait_for(run_killed, 60, worker.log)
    training = TrainingJob.objects.get(pk=training_id)
    assert training.job.status == "cancelled"
    assert training.current_epoch < 500
    assert not ModelVersion.objects.filter(training_job=training).exists()


def test_run_again_reaches_the_same_metrics_on_cpu(world, api, ready_version, workers):
    worker = workers()
    first = launch(api, world, ready_version, epochs=3)
    wait_for(lambda: status(first) == "succeeded", 120, worker.log)
    again = api(world.users["carl"]).post(f"/api/v1/training-jobs/{first}/rerun/").json()
    assert again["rerun_of"] == first
    wait_for(lambda: status(again["id"]) == "succeeded", 120, worker.log)
    a = TrainingJob.objects.get(pk=first)
    b = TrainingJob.objects.get(pk=again["id"])
    assert a.metrics == b.metrics
    assert a.history == b.history
