"""End to end with a real model: a tiny `linear` classifier trained in-process into the
per-test MLflow store, registered, deployed and served through /serve/<slug>/predict; then a
second version whose artifact disappears before it is loaded."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import pytest
from django.conf import settings

from apps.deployments.models import Deployment, PredictionLog
from apps.deployments.selectors.serving import model_check
from apps.deployments.serving.cache import serving
from apps.registry.models import ModelVersion, RegisteredModel, Stage
from tests.deployments.conftest import bearer
from tests.workers.training import make_frame, write_csv
from workers.training import TrainSpec, train

pytestmark = pytest.mark.django_db

ROWS = [
    {"x1": 2.0, "x2": 5.0, "count": 3, "color": "red", "flag": True},
    {"x1": -2.0, "x2": 4.5, "count": 1, "color": "blue", "flag": False},
    {"x1": None, "x2": 5.0, "count": 0, "color": None, "flag": None},
]


def train_version(tmp_path: Path, world, number: int) -> ModelVersion:
    frame = make_frame(rows=200).drop(columns=["value", "grade"])
    data = write_csv(frame, tmp_path / f"data-{number}.csv")
    result = train(
        TrainSpec(
            data_path=data, data_format="csv", target="label", task="classification",
            template="linear", params={"epochs": 3, "seed": number, "device": "cpu"},
            experiment="serving-tests", model_name="served",
            tracking_uri=settings.MLFLOW_TRACKING_URI,
            artifact_root=str(tmp_path / "mlflow-artifacts"), tags={},
        )
    )  # fmt: skip
    assert result.registered_model_version == str(number)
    model, _ = RegisteredModel.objects.get_or_create(name="served", project=world.alpha)
    return ModelVersion.objects.create(
        registered_model=model, version=number, mlflow_run_id=result.mlflow_run_id,
        source=f"models:/served/{number}", signature=result.signature,
        stage=Stage.STAGING if number == 1 else Stage.NONE,
    )  # fmt: skip


@pytest.fixture
def real_cache():
    serving.clear()
    yield serving
    serving.clear()


def test_serves_a_real_mlflow_model(client, world, tmp_path, deployment_factory, add_revision,
                                    log_writer, real_cache, settings):  # fmt: skip
    settings.SERVING_REFRESH_SECONDS = 0
    v1 = train_version(tmp_path, world, 1)
    deployment, token = deployment_factory(stable=v1, slug="served-staging")
    url = f"/serve/{deployment.slug}/predict"

    response = client.post(url, {"instances": ROWS}, content_type="application/json",
                           **bearer(token))  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["model_version"] == 1
    assert len(body["predictions"]) == 3 and set(body["predictions"]) <= {"yes", "no"}
    # The same rows straight through MLflow: the portal answers what the model answers.
    direct = mlflow.pyfunc.load_model(
        mlflow.MlflowClient(settings.MLFLOW_TRACKING_URI).get_model_version_download_uri(
            "served", "1"
        )
    )
    import pandas as pd

    assert list(direct.predict(pd.DataFrame(ROWS))) == body["predictions"]

    split = {"dataframe_split": {"columns": list(ROWS[0]), "data": [list(ROWS[0].values())]}}
    again = client.post(url, split, content_type="application/json", **bearer(token))
    assert again.json()["predictions"] == body["predictions"][:1]

    wrong = client.post(url, {"instances": [{**ROWS[0], "x2": "five", "flag": 3}]},
                        content_type="application/json", **bearer(token))  # fmt: skip
    assert wrong.status_code == 422
    assert {(e["field"], e["message"]) for e in wrong.json()["errors"]} == {
        ("x2", "expected a number, got string"), ("flag", "expected true or false, got number"),
    }  # fmt: skip

    assert log_writer.flush() == 4
    assert PredictionLog.objects.filter(model_version_id=v1.pk).count() == 4
    assert model_check(v1) is None

    # v2 is trained, then its artifact disappears before the deployment loads it.
    v2 = train_version(tmp_path, world, 2)
    source = mlflow.MlflowClient(settings.MLFLOW_TRACKING_URI).get_model_version_download_uri(
        "served", "2"
    )
    shutil.rmtree(urlparse(source).path)
    add_revision(deployment, stable=v2)
    for _ in range(3):
        response = client.post(url, {"instances": ROWS[:1]}, content_type="application/json",
                               **bearer(token))  # fmt: skip
        assert response.status_code == 200
        assert response.json()["model_version"] == 1
    deployment = Deployment.objects.get(pk=deployment.pk)
    assert "revision" in deployment.last_error and deployment.last_error_at is not None
    assert model_check(v2) is not None
