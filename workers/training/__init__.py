"""Training jobs: tabular PyTorch models from built-in templates, tracked in MLflow.

`train(spec, callbacks)` reads a dataset version, fits the preprocessing on the training split,
trains a template's network (CUDA when there is one and it is wanted), and records everything in
one MLflow run: params, per-epoch metrics, tags, the model as a pyfunc that takes raw columns, and
a Model Registry version. Free of Django on purpose, like workers.datasets: a Celery task (or a
notebook) calls it with plain values and callbacks.

Importing this package is cheap (no torch, no MLflow), so the web process can use the parameter
schemas and validation; `train` loads the training stack when it is first called.
"""

from __future__ import annotations

from workers.training.errors import TrainingError
from workers.training.params import ParamSpec, param_schema, template_names, validate_params
from workers.training.spec import Callbacks, TrainResult, TrainSpec


def train(spec: TrainSpec, callbacks: Callbacks | None = None) -> TrainResult:
    """Runs one training job; raises TrainingError (with a reason for people) when it cannot."""
    from workers.training.job import run_training

    return run_training(spec, callbacks)


__all__ = [
    "Callbacks",
    "ParamSpec",
    "TrainResult",
    "TrainSpec",
    "TrainingError",
    "param_schema",
    "template_names",
    "train",
    "validate_params",
]
