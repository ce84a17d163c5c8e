"""What a drift run compares and summarises besides the tests: its reference frame (cached per
process), the model's task, and the distribution of the window's predictions."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from apps.datasets import storage
from apps.datasets.models import DatasetVersion
from apps.monitoring.models import Monitor
from apps.registry.models import ModelVersion
from workers.drift.window import PREDICTION

HISTOGRAM_BINS = 20
CACHE_SIZE = 4  # reference frames kept per worker process


class DriftJobError(Exception):
    """A drift run cannot be made; the message is for people (it becomes the report's error)."""


_cache: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
_cache_lock = threading.Lock()


def _cached(key: tuple, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Blobs are immutable (named by their hash), so a frame built from one stays right; the
    frame is shared, callers must not modify it."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    frame = build()
    with _cache_lock:
        _cache[key] = frame
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return frame


def clear_reference_cache() -> None:
    with _cache_lock:
        _cache.clear()


def load_reference(
    monitor: Monitor, version: ModelVersion, columns: list[str]
) -> tuple[pd.DataFrame, DatasetVersion | None]:
    """(reference frame with `columns`, the dataset version it came from): the monitor's chosen
    version whole, or else the training split of the version the deployment serves."""
    from workers.drift.reference import (
        DEFAULT_FRACTION,
        DEFAULT_SEED,
        ReferenceDataError,
        training_split,
        whole_table,
    )
    from workers.training.errors import TrainingError

    chosen = monitor.reference_dataset_version
    try:
        if chosen is not None:
            key = ("table", chosen.content_hash, chosen.format, tuple(columns))
            frame = _cached(
                key,
                lambda: whole_table(
                    storage.blob_verify(chosen.content_hash), chosen.format, columns
                ),
            )
            return frame, chosen
        training = version.training_job
        if training is None:
            raise DriftJobError(
                f"{version} has no training job in the portal, so its training split is "
                f"unknown; choose a reference dataset version for the monitor."
            )
        data = training.dataset_version
        params = training.params or {}
        seed = params.get("seed", DEFAULT_SEED)
        fraction = params.get("validation_fraction", DEFAULT_FRACTION)
        key = ("split", data.content_hash, data.format, training.target, training.task, seed,
               fraction, tuple(columns))  # fmt: skip

        def build() -> pd.DataFrame:
            path = storage.blob_verify(data.content_hash)
            return training_split(
                path, data.format, training.target, training.task, fraction, seed, columns
            )

        frame = _cached(key, build)
        return frame, data
    except (ReferenceDataError, TrainingError, storage.MissingBlob, storage.CorruptBlob) as exc:
        raise DriftJobError(f"The reference data cannot be read: {exc}") from exc


def task_of(version: ModelVersion) -> str | None:
    """classification | regression, from the training job, else from the signature."""
    training = version.training_job
    task = training.task if training is not None else (version.signature or {}).get("task")
    return task if task in ("classification", "regression") else None


def prediction_distribution(frame: pd.DataFrame, task: str | None) -> dict[str, Any]:
    """Class counts (classification) or a histogram with the mean (regression) of the window's
    predictions. Without a known task, many distinct numbers are read as a regression."""
    values = frame[PREDICTION].dropna() if PREDICTION in frame.columns else pd.Series([])
    numbers = pd.to_numeric(values, errors="coerce")
    numeric = len(values) > 0 and numbers.notna().all() and values.map(_is_number).all()
    if task == "regression" or (task is None and numeric and values.nunique() > HISTOGRAM_BINS):
        finite = numbers.to_numpy(dtype=float)
        finite = finite[np.isfinite(finite)]
        if not len(finite):
            return {"kind": "histogram", "edges": [], "counts": [], "mean": None, "rows": 0}
        counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS)
        return {
            "kind": "histogram",
            "edges": [float(e) for e in edges],
            "counts": [int(c) for c in counts],
            "mean": float(finite.mean()),
            "rows": len(finite),
        }
    counts = values.map(str).value_counts()
    return {
        "kind": "classes",
        "counts": {label: int(counts[label]) for label in sorted(counts.index)},
        "rows": int(counts.sum()),
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)
