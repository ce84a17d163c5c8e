"""Compare a current window with a reference frame: Evidently's DataDriftPreset, summarised.

`run_drift(reference, current, ...)` returns a `DriftSummary`, plain values that a Celery task
stores on a drift report row (`summary.as_dict()` is JSON-serialisable) and that monitors and
alerts read. The caller's frames are not changed: Evidently gets copies of the compared
columns, text columns as pandas categories (same scores, far less time). The Evidently HTML
it can save is self-contained: its scripts are inline (React, Plotly and the report data), its
fonts are data: URIs, so the portal serves it air-gapped.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

from workers.drift.window import LABEL, PREDICTION

OK = "ok"
INSUFFICIENT_DATA = "insufficient_data"
TASKS = ("classification", "regression")


@dataclass
class ColumnDrift:
    column: str
    test: str
    score: float | None
    threshold: float | None
    drifted: bool


@dataclass
class DriftSummary:
    status: str
    dataset_drift: bool | None
    drift_share: float | None
    drifted_columns: int
    rows_reference: int
    rows_current: int
    columns: list[ColumnDrift] = field(default_factory=list)
    performance: dict[str, dict[str, float | None]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def drifted(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]


def feature_columns(reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """Input columns present in both frames; the model's output and the label are not inputs."""
    return [c for c in reference.columns if c in current.columns and c not in (PREDICTION, LABEL)]


def data_definition(frame: pd.DataFrame, columns: list[str]) -> DataDefinition:
    """Numbers are numerical, everything else categorical: stated, so Evidently does not guess
    from a small window (where, say, a low-cardinality integer could flip type between runs)."""
    numerical = [
        c
        for c in columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    categorical = [c for c in columns if c not in numerical]
    return DataDefinition(numerical_columns=numerical, categorical_columns=categorical)


def run_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    drift_share: float = 0.5,
    column_threshold: float | None = None,
    per_column_method: dict[str, str] | None = None,
    min_rows: int = 100,
    task: str | None = None,
    html_path: str | None = None,
) -> DriftSummary:
    """Per-column drift tests and the dataset verdict (drifted share >= `drift_share`).

    `columns` defaults to the inputs both frames share. Fewer than `min_rows` rows on either
    side gives status "insufficient_data" without running Evidently (a test on ten rows says
    nothing). `task` ("classification" | "regression") adds simple performance metrics on the
    labelled rows of each frame."""
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")
    summary = DriftSummary(
        status=OK,
        dataset_drift=None,
        drift_share=None,
        drifted_columns=0,
        rows_reference=len(reference),
        rows_current=len(current),
    )
    if len(reference) < min_rows or len(current) < min_rows:
        summary.status = INSUFFICIENT_DATA
        return summary
    columns = list(columns) if columns is not None else feature_columns(reference, current)
    missing = [c for c in columns if c not in reference.columns or c not in current.columns]
    if missing:
        raise ValueError(f"columns missing from a frame: {missing}")
    if not columns:
        raise ValueError("no columns to compare")

    definition = data_definition(reference, columns)
    report = Report(
        [
            DataDriftPreset(
                columns=columns,
                drift_share=drift_share,
                threshold=column_threshold,
                per_column_method=per_column_method,
            )
        ],
        # The per-column tests carry Evidently's own drifted/not-drifted verdict, whichever
        # direction the method's score goes (p-value below, distance above its threshold).
        include_tests=True,
    )
    prepared_current, prepared_reference = as_categories(
        current[columns], reference[columns], definition.categorical_columns or []
    )
    snapshot = report.run(
        Dataset.from_pandas(prepared_current, data_definition=definition),
        Dataset.from_pandas(prepared_reference, data_definition=definition),
    )
    summary.columns = summarise_columns(snapshot.dict())
    summary.drifted_columns = sum(c.drifted for c in summary.columns)
    summary.drift_share = summary.drifted_columns / len(summary.columns)
    # Evidently's dataset drift rule (DatasetDriftMetric): share of drifted columns >= drift_share.
    summary.dataset_drift = summary.drift_share >= drift_share
    if task is not None:
        summary.performance = {
            "reference": performance(reference, task),
            "current": performance(current, task),
        }
    if html_path is not None:
        snapshot.save_html(html_path)
    return summary


def as_categories(
    current: pd.DataFrame, reference: pd.DataFrame, names: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Text columns as pandas categories sharing one set of levels, in place (run_drift passes
    its own copies). Evidently scores them exactly as it scores plain objects (checked against
    it in tests/workers/drift/test_drift_categories.py), but its counting and unique-value
    passes then run on small integer codes instead of Python strings: about eight times faster
    on a window of a million rows. A column whose values cannot be hashed stays as it is."""
    for name in names:
        if current[name].dtype != object or reference[name].dtype != object:
            continue
        try:
            ours, theirs = current[name].astype("category"), reference[name].astype("category")
        except TypeError:
            continue
        levels = ours.cat.categories.union(theirs.cat.categories)
        current[name] = ours.cat.set_categories(levels)
        reference[name] = theirs.cat.set_categories(levels)
    return current, reference


def summarise_columns(result: dict[str, Any]) -> list[ColumnDrift]:
    """One ColumnDrift per ValueDrift metric of an Evidently 0.7 snapshot dict."""
    verdicts = {
        test["metric_config"]["metric_id"]: test["status"]
        for test in result.get("tests", [])
        if test.get("id") == "drift"
    }
    rows = []
    for metric in result["metrics"]:
        config = metric["config"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        rows.append(
            ColumnDrift(
                column=config["column"],
                test=str(config.get("method")),
                score=_number(metric["value"]),
                threshold=_number(config.get("threshold")),
                drifted=verdicts.get(metric["id"]) == "FAIL",
            )
        )
    return rows


def performance(frame: pd.DataFrame, task: str) -> dict[str, float | None]:
    """Accuracy (classification) or RMSE and MAE (regression) on the rows that have a label."""
    if LABEL not in frame.columns or PREDICTION not in frame.columns:
        return {"rows_labelled": 0}
    labelled = frame[frame[LABEL].notna() & frame[PREDICTION].notna()]
    result: dict[str, float | None] = {"rows_labelled": len(labelled)}
    if task == "classification":
        result["accuracy"] = (
            float((labelled[LABEL].astype(str) == labelled[PREDICTION].astype(str)).mean())
            if len(labelled)
            else None
        )
    else:
        error = pd.to_numeric(labelled[PREDICTION], errors="coerce") - pd.to_numeric(
            labelled[LABEL], errors="coerce"
        )
        error = error.dropna()
        result["rmse"] = float(math.sqrt((error**2).mean())) if len(error) else None
        result["mae"] = float(error.abs().mean()) if len(error) else None
    return result


def _number(value: Any) -> float | None:
    # NaN and infinities are not JSON; a test that could not score reports None.
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
