import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_healthz_needs_no_login():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_broker_and_mlflow(settings, tmp_path):
    settings.MLFLOW_TRACKING_URI = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings.MLFLOW_ARTIFACT_ROOT = str(tmp_path / "mlartifacts")
    response = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"] == {"database": "ok", "broker": "ok", "mlflow": "ok"}


def test_readyz_names_what_is_down(settings):
    # A real broker address where nothing listens, and an MLflow server that is not there.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:1"
    response = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["down"] == ["broker", "mlflow"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("down:")
