"""Model quality on the labelled rows of a window: Evidently's classification or regression preset.

Kept beside report.py rather than inside its drift Report: the drift comparison needs the
reference, which holds no predictions (it is the training data), so the quality report runs on
the current window alone and is saved as its own self-contained HTML.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from evidently import (
    BinaryClassification,
    DataDefinition,
    Dataset,
    MulticlassClassification,
    Regression,
    Report,
)
from evidently.presets import ClassificationPreset, RegressionPreset

from workers.drift.window import LABEL, PREDICTION

# Evidently metric type suffix -> the name stored (and read by metric_below alert rules).
METRICS = {
    "Accuracy": "accuracy",
    "Precision": "precision",
    "Recall": "recall",
    "F1Score": "f1",
    "RocAuc": "roc_auc",
    "RMSE": "rmse",
    "MAE": "mae",
    "MeanError": "mean_error",
    "R2Score": "r2",
    "MAPE": "mape",
}


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that have both a prediction and a ground-truth label."""
    if LABEL not in frame.columns or PREDICTION not in frame.columns:
        return frame.iloc[0:0]
    return frame[frame[LABEL].notna() & frame[PREDICTION].notna()]


def quality_report(
    frame: pd.DataFrame,
    task: str,
    *,
    classes: list | None = None,
    html_path: str | None = None,
) -> dict[str, float | None]:
    """Evidently's quality metrics on the labelled rows of `frame` ({name: value}); saves the
    HTML when `html_path` is given. Labels and predictions of a classifier are compared as
    text, so a label sent as 1 matches a prediction of "1"."""
    rows = labelled(frame)
    if task == "classification":
        data = pd.DataFrame(
            {LABEL: rows[LABEL].astype(str).to_numpy(), PREDICTION: rows[PREDICTION].astype(str)}
        )
        names = [str(c) for c in classes] if classes else sorted(set(data[LABEL]))
        if len(names) == 2:
            spec: Any = BinaryClassification(
                target=LABEL, prediction_labels=PREDICTION, pos_label=names[-1]
            )
        else:
            spec = MulticlassClassification(target=LABEL, prediction_labels=PREDICTION)
        definition = DataDefinition(classification=[spec], categorical_columns=[LABEL, PREDICTION])
        preset: Any = ClassificationPreset()
    else:
        data = pd.DataFrame(
            {
                LABEL: pd.to_numeric(rows[LABEL], errors="coerce").to_numpy(),
                PREDICTION: pd.to_numeric(rows[PREDICTION], errors="coerce").to_numpy(),
            }
        ).dropna()
        definition = DataDefinition(
            regression=[Regression(target=LABEL, prediction=PREDICTION)],
            numerical_columns=[LABEL, PREDICTION],
        )
        preset = RegressionPreset()
    snapshot = Report([preset]).run(Dataset.from_pandas(data, data_definition=definition), None)
    if html_path is not None:
        snapshot.save_html(html_path)
    return _metrics(snapshot.dict())


def _metrics(result: dict[str, Any]) -> dict[str, float | None]:
    found: dict[str, float | None] = {}
    for metric in result.get("metrics", []):
        kind = metric["config"]["type"].rsplit(":", 1)[-1]
        name = METRICS.get(kind)
        if name is None or name in found:
            continue  # per-label repeats of a metric: the first is the aggregate
        value = metric["value"]
        if isinstance(value, dict):  # mean/std metrics: the mean is the figure
            value = value.get("mean")
        found[name] = _number(value)
    return found


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
