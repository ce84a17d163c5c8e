"""MLflow bookkeeping through an explicit MlflowClient, so a job never changes which tracking
store the rest of the process talks to. The one exception is model logging, which MLflow only
offers through its global tracking URI: it is set around that call and put back afterwards,
environment variable included. (Celery's prefork workers run one job per process at a time,
so nothing else in the process can observe the swap.)"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
from mlflow.entities import LoggedModelStatus, Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.models import Model, ModelSignature
from mlflow.types import ColSpec, Schema
from mlflow.types.schema import AnyType

MODEL_ARTIFACT = "model"


def client_for(tracking_uri: str) -> mlflow.MlflowClient:
    return mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def experiment_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "experiment"


def experiment_location(artifact_root: str, name: str) -> str:
    return (Path(artifact_root) / "mlflow" / experiment_slug(name)).resolve().as_uri()


def ensure_experiment(client: mlflow.MlflowClient, name: str, artifact_root: str) -> str:
    """The experiment's id, creating it with an absolute artifact location: any client pointed
    at the same store then finds the artifacts whatever its working directory."""
    for _ in range(2):
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage == "deleted":
                client.restore_experiment(experiment.experiment_id)
            return experiment.experiment_id
        try:
            return client.create_experiment(name, experiment_location(artifact_root, name))
        except MlflowException as error:
            # Another job created it between our lookup and our insert: use theirs.
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
    raise RuntimeError(f"experiment {name!r} could not be created or found")


@functools.cache
def code_version() -> str:
    """The git commit of the worker's code, or "unknown" outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def package_versions() -> dict[str, str]:
    import cloudpickle
    import numpy
    import pandas
    import pyarrow
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "mlflow": mlflow.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "cloudpickle": cloudpickle.__version__,
    }


def run_tags(extra: dict[str, str], *, template: str, task: str, target: str) -> dict[str, str]:
    commit = code_version()
    tags = {
        "mlflow.source.type": "JOB",
        "mlflow.source.name": "workers.training",
        "portal.code_version": commit,
        "portal.template": template,
        "portal.task": task,
        "portal.target": target,
    }
    if commit != "unknown":
        tags["mlflow.source.git.commit"] = commit
    tags.update({f"portal.versions.{k}": v for k, v in package_versions().items()})
    tags.update({str(k): str(v) for k, v in extra.items()})
    return tags


def log_params(client: mlflow.MlflowClient, run_id: str, params: dict) -> None:
    client.log_batch(run_id, params=[Param(str(k), str(v)) for k, v in params.items()])


def log_tags(client: mlflow.MlflowClient, run_id: str, tags: dict[str, str]) -> None:
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])


def log_metrics(
    client: mlflow.MlflowClient, run_id: str, values: dict[str, float], step: int = 0
) -> None:
    """All of them in one request: one call per epoch, whatever the number of metrics."""
    now = int(time.time() * 1000)
    batch = [Metric(k, float(v), now, step) for k, v in values.items() if v is not None]
    client.log_batch(run_id, metrics=batch)


class MetricBuffer:
    """Per-epoch metrics for one run, with at most one request per epoch: an epoch's metrics go
    out in one log_batch when the previous request is `interval` seconds old, so epochs shorter
    than that share a request (and the run shows them at most that late). A job with long
    epochs logs each epoch as it ends; one with many short epochs does not spend its time
    waiting on the tracking store (a SQLite commit or an HTTP round trip each)."""

    MAX_PER_REQUEST = 1000  # MLflow's log_batch limit

    def __init__(self, client: mlflow.MlflowClient, run_id: str, interval: float = 5.0) -> None:
        self.client, self.run_id, self.interval = client, run_id, interval
        self.pending: list[Metric] = []
        self.sent = -math.inf

    def add(self, values: dict[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        self.pending.extend(Metric(k, float(v), now, step) for k, v in values.items())
        if time.monotonic() - self.sent >= self.interval:
            self.flush()

    def flush(self) -> None:
        for start in range(0, len(self.pending), self.MAX_PER_REQUEST):
            chunk = self.pending[start : start + self.MAX_PER_REQUEST]
            self.client.log_batch(self.run_id, metrics=chunk)
        self.pending = []
        self.sent = time.monotonic()


def signature(input_types: dict[str, str], target: str, output_type: str) -> ModelSignature:
    """Text and boolean columns keep their type. Numeric columns are declared "any": MLflow
    refuses int64 for a double column and NaN for a long one, so either declaration would
    reject ordinary raw frames (an integer batch of a float feature, a gap in an integer
    feature); the model converts numbers itself and treats anything else as missing."""
    inputs = Schema(
        [
            ColSpec(AnyType() if kind == "double" else kind, name)
            for name, kind in input_types.items()
        ]
    )
    return ModelSignature(inputs=inputs, outputs=Schema([ColSpec(output_type, target)]))


def pip_requirements() -> list[str]:
    versions = package_versions()
    # "+cpu"/"+cu121" are local build labels; a serving host picks the build it needs.
    pins = {name: versions[name].split("+")[0] for name in ("torch", "numpy", "pandas")}
    pins["mlflow"] = versions["mlflow"]
    pins["cloudpickle"] = versions["cloudpickle"]  # MLflow pickles the model with it
    return [f"{name}=={version}" for name, version in pins.items()]


def log_model(
    client: mlflow.MlflowClient,
    run_id: str,
    python_model,
    model_signature: ModelSignature,
    example,
    params: dict,
) -> str:
    """Logs the pyfunc model as the run's "model" and returns its MLflow model id."""
    run = client.get_run(run_id)
    # Created here, in the run's experiment: left to itself, Model.log files a model logged for
    # a run that is not the active one under the default experiment (and its artifact folder).
    logged = client.create_logged_model(
        run.info.experiment_id,
        name=MODEL_ARTIFACT,
        source_run_id=run_id,
        params={str(k): str(v) for k, v in params.items()},
    )
    path_before = list(sys.path)
    with tempfile.TemporaryDirectory(prefix="portal-model-code-") as tmp:
        code = _code_snapshot(Path(tmp))
        try:
            with _global_tracking_uri(client.tracking_uri):
                Model.log(
                    artifact_path=None,
                    name=MODEL_ARTIFACT,
                    flavor=mlflow.pyfunc,
                    run_id=run_id,
                    model_id=logged.model_id,
                    python_model=python_model,
                    signature=model_signature,
                    input_example=example,
                    code_paths=[str(code)],
                    # Listing them skips MLflow's inference, which loads the model in a
                    # subprocess.
                    pip_requirements=pip_requirements(),
                )
        except BaseException:
            with contextlib.suppress(Exception):
                client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
            raise
        finally:
            # MLflow checks the input example by loading the model, which prepends the model's
            # code folder (a temporary one, here) to sys.path for good.
            sys.path[:] = path_before
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    return logged.model_id


def _code_snapshot(folder: Path) -> Path:
    """folder/workers: the package's __init__ and workers/training, the code the pickled model
    refers to by name (no Django, nothing else from the portal)."""
    package = Path(__file__).resolve().parents[1]
    target = folder / package.name
    target.mkdir()
    shutil.copy2(package / "__init__.py", target / "__init__.py")
    shutil.copytree(
        Path(__file__).resolve().parent,
        target / "training",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return target


def register(
    client: mlflow.MlflowClient, name: str, run_id: str, model_id: str, tags: dict[str, str]
) -> str:
    """Creates a version of registered model `name` (and the model if new); returns the version."""
    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    # The artifact location rather than "models:/<model id>": the registry store resolves the
    # latter through MLflow's global tracking URI, not through this client's.
    source = client.get_logged_model(model_id).artifact_location
    version = client.create_model_version(
        name, source=source, run_id=run_id, tags=tags, model_id=model_id
    )
    return str(version.version)


@contextlib.contextmanager
def _global_tracking_uri(uri: str) -> Iterator[None]:
    from mlflow.tracking._tracking_service import utils

    env_before = os.environ.get("MLFLOW_TRACKING_URI")
    previous = getattr(utils, "_tracking_uri", None)
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if env_before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = env_before
