"""Loading a registered model version for serving, through an explicit MLflow client: the
process's global tracking URI is never touched."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from typing import Any

import pandas as pd
from django.conf import settings

from apps.deployments.selectors.serving import VersionRef


@dataclass
class LoadedModel:
    """What serving keeps per model version: a predict function over a DataFrame and the
    version's input example (for checks)."""

    version: VersionRef
    predict_fn: Any
    example: pd.DataFrame | None = None

    def predict(self, frame: pd.DataFrame) -> list:
        out = self.predict_fn(frame)
        if hasattr(out, "tolist"):
            return out.tolist()
        if isinstance(out, pd.DataFrame):
            return out.to_dict(orient="records")
        return list(out)


def mlflow_loader(ref: VersionRef) -> LoadedModel:
    import mlflow
    from mlflow.models import Model

    # The pickled models refer to these by name; importing the portal's copies first means
    # unpickling never imports them from the model's code folder.
    import workers.training.preprocess
    import workers.training.pyfunc  # noqa: F401

    uri = settings.MLFLOW_TRACKING_URI
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    source = client.get_model_version_download_uri(ref.model_name, str(ref.number))
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=source,
        dst_path=tempfile.mkdtemp(prefix=f"portal-serving-{ref.id}-"),
        tracking_uri=uri,
    )
    path_before = list(sys.path)
    try:
        model = mlflow.pyfunc.load_model(local)
        example = Model.load(local).load_input_example(local)
    finally:
        # Loading prepends the model's code folder to sys.path for good.
        sys.path[:] = path_before
    predict_fn = model.predict
    try:
        python_model = model.unwrap_python_model()
    except Exception:  # not a python_model flavour: keep MLflow's predict
        python_model = None
    if python_model is not None:
        # Inputs were checked against the signature already (with row and field in each
        # error): MLflow's own enforcement would only repeat it, at a cost per request.
        def predict_fn(frame: pd.DataFrame, _model=python_model) -> Any:
            return _model.predict(None, frame)

    if example is not None and not isinstance(example, pd.DataFrame):
        example = pd.DataFrame(example)
    return LoadedModel(version=ref, predict_fn=predict_fn, example=example)
