"""What a training job is given (TrainSpec, Callbacks) and what it returns (TrainResult)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def _noop(*args: object) -> None:
    return None


def _never() -> bool:
    return False


@dataclass
class TrainSpec:
    data_path: Path
    data_format: str  # "csv" | "parquet"
    target: str
    task: str  # "classification" | "regression"
    template: str
    params: dict  # validated by validate_params (train checks again and fills defaults)
    experiment: str
    model_name: str
    tracking_uri: str
    # Absolute folder. A new experiment's artifact_location is
    # (Path(artifact_root) / "mlflow" / <experiment slug>).resolve().as_uri().
    artifact_root: str
    tags: dict[str, str] = field(default_factory=dict)
    run_name: str | None = None


@dataclass
class Callbacks:
    # (epoch 1-based, epochs, that epoch's metrics), once per epoch.
    on_epoch: Callable[[int, int, dict[str, float]], None] = _noop
    # Polled at every batch boundary, so it must be cheap (a flag read, not a query).
    should_stop: Callable[[], bool] = _never
    # Human-readable lines ("epoch 3/20 train_loss=... val_loss=...").
    log: Callable[[str], None] = _noop
    # The MLflow run id, as soon as the run exists.
    on_run_started: Callable[[str], None] = _noop


@dataclass
class TrainResult:
    status: str  # "finished" | "cancelled"
    mlflow_run_id: str
    model_uri: str | None  # "runs:/<id>/model"; None when cancelled
    registered_model_name: str | None
    registered_model_version: str | None
    # Held-out metrics of the kept (best) weights: accuracy, f1, roc_auc, log_loss or
    # rmse, mae, r2; plus val_loss.
    metrics: dict[str, float]
    history: list[dict]  # per epoch: {"epoch", "train_loss", "val_loss", <task metrics>}
    epochs_run: int
    device: str  # "cpu" | "cuda"
    # {"device", "wall_seconds", "cpu_seconds", "peak_rss_mb", "gpu_seconds", "peak_gpu_mem_mb"}
    resources: dict
    signature: dict  # {"inputs": [{"name", "type"}], "target", "task", "classes": [...] | None}
