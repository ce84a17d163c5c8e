"""The MLflow tracking store and model registry the portal writes to."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings


def _ensure_local_dirs() -> None:
    uri = settings.MLFLOW_TRACKING_URI
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if "://" not in settings.MLFLOW_ARTIFACT_ROOT:
        Path(settings.MLFLOW_ARTIFACT_ROOT).mkdir(parents=True, exist_ok=True)


def tracking_client():
    return _client(settings.MLFLOW_TRACKING_URI)


@lru_cache(maxsize=4)
def _client(uri: str):
    import mlflow

    _ensure_local_dirs()
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_store() -> None:
    """Create the local store (first use runs its migrations) and the portal's experiment."""
    client = tracking_client()
    if client.get_experiment_by_name("portal-default") is None:
        artifact_location = None
        if "://" not in settings.MLFLOW_ARTIFACT_ROOT:
            artifact_location = Path(settings.MLFLOW_ARTIFACT_ROOT).resolve().as_uri()
        client.create_experiment("portal-default", artifact_location=artifact_location)
