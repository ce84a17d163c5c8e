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


@lru_cache(maxsize=1)
def tracking_client():
    import mlflow

    _ensure_local_dirs()
    mlflow.set_tracking_uri(settings.MLFLOW_TRACKING_URI)
    mlflow.set_registry_uri(settings.MLFLOW_TRACKING_URI)
    return mlflow.MlflowClient(
        tracking_uri=settings.MLFLOW_TRACKING_URI, registry_uri=settings.MLFLOW_TRACKING_URI
    )


def ensure_store() -> None:
    """Create the local store (first use runs its migrations) and the portal's experiment."""
    client = tracking_client()
    if client.get_experiment_by_name("portal-default") is None:
        artifact_location = None
        if "://" not in settings.MLFLOW_ARTIFACT_ROOT:
            artifact_location = Path(settings.MLFLOW_ARTIFACT_ROOT).resolve().as_uri()
        client.create_experiment("portal-default", artifact_location=artifact_location)
