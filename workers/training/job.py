"""train(): one training job, start to finish, inside one MLflow run.

Order of work: check the parameters and the device (no run is created for a job that cannot
start), create the run, read and split the data, fit the preprocessing on the training rows,
train, then log the final metrics, the pyfunc model and its registry version. A cancelled job
ends its run as KILLED without a model; any error ends it as FAILED and propagates.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
import torch

from workers.training import templates, tracking
from workers.training.data import Dataset, load_dataset, split_indices
from workers.training.errors import TrainingError
from workers.training.loop import LoopResult, Tensors, fit
from workers.training.params import validate_params
from workers.training.preprocess import Preprocessor
from workers.training.pyfunc import TabularTorchModel
from workers.training.resources import Meter
from workers.training.spec import Callbacks, TrainResult, TrainSpec

TASKS = ("classification", "regression")


def run_training(spec: TrainSpec, callbacks: Callbacks | None = None) -> TrainResult:
    callbacks = callbacks or Callbacks()
    meter = Meter()
    params, errors = validate_params(spec.template, spec.params)
    if errors:
        detail = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        raise TrainingError(f"Invalid training parameters: {detail}")
    if spec.task not in TASKS:
        raise TrainingError(f"Unknown task {spec.task!r}; expected classification or regression.")
    device = resolve_device(params["device"])

    client = tracking.client_for(spec.tracking_uri)
    experiment_id = tracking.ensure_experiment(client, spec.experiment, spec.artifact_root)
    tags = tracking.run_tags(spec.tags, template=spec.template, task=spec.task, target=spec.target)
    tags["portal.device"] = device
    run = client.create_run(experiment_id, run_name=spec.run_name, tags=tags)
    run_id = run.info.run_id
    try:
        callbacks.on_run_started(run_id)
        return _train(spec, params, device, callbacks, client, run_id, meter)
    except BaseException:
        # Best effort: the original error is what the caller needs to see.
        with contextlib.suppress(Exception):
            client.set_terminated(run_id, "FAILED")
        raise


def resolve_device(requested: str) -> str:
    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise TrainingError("CUDA was requested but is not available on this worker")
    return "cuda" if requested in ("cuda", "auto") and available else "cpu"


def _train(
    spec: TrainSpec,
    params: dict,
    device: str,
    callbacks: Callbacks,
    client,
    run_id: str,
    meter: Meter,
) -> TrainResult:
    log = callbacks.log
    log(f"MLflow run {run_id} in experiment {spec.experiment!r}, device {device}")
    tracking.log_params(
        client,
        run_id,
        {"template": spec.template, "task": spec.task, "target": spec.target, **params},
    )

    dataset = load_dataset(spec.data_path, spec.data_format, spec.target, spec.task, log)
    train_rows, val_rows = split_indices(
        dataset.y, dataset.classes, params["validation_fraction"], params["seed"]
    )
    train_frame = dataset.features.iloc[train_rows]
    preprocessor = Preprocessor(dataset.numeric, dataset.categorical).fit(train_frame)
    for column in preprocessor.truncated:
        log(f"column {column!r} has many categories; only the most frequent are one-hot encoded")
    x_train = preprocessor.transform(train_frame)
    x_val = preprocessor.transform(dataset.features.iloc[val_rows])
    log(
        f"data: {len(dataset.y)} rows ({len(train_rows)} train, {len(val_rows)} validation), "
        f"{preprocessor.n_features} features from {len(dataset.input_types)} columns"
    )
    tracking.log_params(
        client,
        run_id,
        {
            "n_rows": len(dataset.y),
            "n_train_rows": len(train_rows),
            "n_val_rows": len(val_rows),
            "n_features": preprocessor.n_features,
        },
    )

    if device == "cuda":
        meter.cuda_started()
    epochs = params["epochs"]
    metric_buffer = tracking.MetricBuffer(client, run_id)

    def end_epoch(entry: dict) -> None:
        epoch = entry["epoch"]
        values = {k: v for k, v in entry.items() if k != "epoch"}
        # In MLflow the per-epoch task metrics are val_*: the unprefixed names hold the final
        # (best-epoch) values, so a run's summary shows the metrics of the model it logged.
        metric_buffer.add(
            {k if k in ("train_loss", "val_loss") else f"val_{k}": v for k, v in values.items()},
            step=epoch,
        )
        callbacks.on_epoch(epoch, epochs, values)
        log(f"epoch {epoch}/{epochs} " + " ".join(f"{k}={v:.4g}" for k, v in values.items()))

    cuda_devices = [torch.cuda.current_device()] if device == "cuda" else []
    # fork_rng: seeding for this job must not reset the random state of the worker process.
    with torch.random.fork_rng(devices=cuda_devices), _deterministic(device == "cpu"):
        torch.manual_seed(params["seed"])
        data = _tensors(dataset, train_rows, val_rows, x_train, x_val, device)
        n_outputs = len(dataset.classes) if dataset.classes is not None else 1
        module = templates.get(spec.template).build(preprocessor.n_features, n_outputs, params)
        module = module.to(device)
        loop_started = time.perf_counter()
        try:
            outcome = fit(
                module,
                data,
                task=spec.task,
                params=params,
                should_stop=callbacks.should_stop,
                end_epoch=end_epoch,
            )
        except BaseException:
            # Keep the epochs that did finish visible in MLflow next to the FAILED status.
            with contextlib.suppress(Exception):
                metric_buffer.flush()
            raise
        metric_buffer.flush()
        if device == "cuda":
            torch.cuda.synchronize()
            meter.gpu_seconds = time.perf_counter() - loop_started

    signature = _signature_dict(dataset, spec)
    final = {k: v for k, v in outcome.best.items() if k not in ("epoch", "train_loss")}
    if outcome.cancelled:
        log(f"cancelled after {len(outcome.history)} complete epoch(s); no model is logged")
        return _finish(client, run_id, "KILLED", spec, outcome, final, device, meter, signature)

    best = outcome.best_epoch
    log(f"best epoch {best} of {len(outcome.history)}: val_loss={final['val_loss']:.4g}")
    # Logged without a step (step 0), under names that the per-epoch series do not use, so
    # each per-epoch series keeps exactly one point per epoch.
    summary = {k: v for k, v in final.items() if k != "val_loss"}
    summary |= {
        "best_val_loss": final["val_loss"],
        "best_epoch": best,
        "epochs_run": len(outcome.history),
    }
    tracking.log_metrics(client, run_id, summary)
    python_model = TabularTorchModel(
        preprocessor,
        module,
        task=spec.task,
        target=spec.target,
        classes=dataset.classes,
        y_mean=data.y_mean,
        y_std=data.y_std,
    )
    model_id = tracking.log_model(
        client,
        run_id,
        python_model,
        tracking.signature(dataset.input_types, spec.target, _output_type(dataset)),
        _input_example(dataset),
        {"template": spec.template, "task": spec.task, "target": spec.target, **params},
    )
    version = tracking.register(
        client,
        spec.model_name,
        run_id,
        model_id,
        {k: v for k, v in spec.tags.items() if k.startswith("portal.")},
    )
    log(f"registered {spec.model_name!r} version {version}")
    return _finish(
        client, run_id, "FINISHED", spec, outcome, final, device, meter, signature, version
    )


def _finish(
    client,
    run_id: str,
    status: str,
    spec: TrainSpec,
    outcome: LoopResult,
    final: dict,
    device: str,
    meter: Meter,
    signature: dict,
    version: str | None = None,
) -> TrainResult:
    resources = meter.snapshot()
    numbers = {k: v for k, v in resources.items() if isinstance(v, int | float)}
    tracking.log_metrics(client, run_id, {f"resources/{k}": v for k, v in numbers.items()})
    client.set_terminated(run_id, status)
    finished = status == "FINISHED"
    return TrainResult(
        status="finished" if finished else "cancelled",
        mlflow_run_id=run_id,
        model_uri=f"runs:/{run_id}/{tracking.MODEL_ARTIFACT}" if finished else None,
        registered_model_name=spec.model_name if finished else None,
        registered_model_version=version,
        metrics=final,
        history=outcome.history,
        epochs_run=len(outcome.history),
        device=device,
        resources=resources,
        signature=signature,
    )


def _tensors(
    dataset: Dataset,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    x_train: np.ndarray,
    x_val: np.ndarray,
    device: str,
) -> Tensors:
    """Everything on the device once, before the first batch."""
    y_train, y_val = dataset.y[train_rows], dataset.y[val_rows]
    if dataset.classes is not None:
        y_mean, y_std = 0.0, 1.0
        target_train = torch.from_numpy(y_train.astype(np.int64))
        target_val = torch.from_numpy(y_val.astype(np.int64))
    else:
        # Standardised targets keep the loss scale, hence good learning rates, the same for a
        # target in millimetres or in millions.
        y_mean = float(y_train.mean())
        y_std = float(y_train.std()) or 1.0
        target_train = torch.from_numpy(((y_train - y_mean) / y_std).astype(np.float32))
        target_val = torch.from_numpy(((y_val - y_mean) / y_std).astype(np.float32))
    return Tensors(
        x_train=torch.from_numpy(x_train).to(device),
        y_train=target_train.to(device),
        x_val=torch.from_numpy(x_val).to(device),
        y_val=target_val.to(device),
        y_val_raw=y_val,
        y_mean=y_mean,
        y_std=y_std,
    )


def _output_type(dataset: Dataset) -> str:
    if dataset.classes is None:
        return "double"
    first = dataset.classes[0]
    if isinstance(first, bool):
        return "boolean"
    return "long" if isinstance(first, int) else "string"


def _signature_dict(dataset: Dataset, spec: TrainSpec) -> dict:
    return {
        "inputs": [{"name": name, "type": kind} for name, kind in dataset.input_types.items()],
        "target": spec.target,
        "task": spec.task,
        "classes": dataset.classes,
    }


def _input_example(dataset: Dataset) -> pd.DataFrame:
    example = dataset.features.head(5).copy()
    for column in dataset.categorical:
        example[column] = example[column].astype(object)  # raw values, as a client sends them
    for column in dataset.numeric:
        # The signature declares numbers as double, so a missing value is never a type error.
        example[column] = pd.to_numeric(example[column], errors="coerce").astype("float64")
    return example.reset_index(drop=True)


@contextlib.contextmanager
def _deterministic(enabled: bool) -> Iterator[None]:
    """Deterministic kernels for this job only; the process-wide setting is restored."""
    previous = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    if enabled:
        torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=warn_only)
