"""run_drift against Evidently itself, on synthetic windows with a known shift."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from evidently import Report
from evidently.presets import DataDriftPreset

from workers.drift.report import INSUFFICIENT_DATA, OK, run_drift

NUMERIC = [f"x{i}" for i in range(10)]
COLOURS = ["red", "green", "blue"]


def window(seed: int, *, rows: int = 600, shifted: int = 0, colours=None) -> pd.DataFrame:
    """Ten standard-normal features (the first `shifted` moved by 2 std) and a colour."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(0.0, 1.0, rows) for name in NUMERIC})
    for name in NUMERIC[:shifted]:
        frame[name] += 2.0
    frame["colour"] = rng.choice(COLOURS, rows, p=colours or [1 / 3, 1 / 3, 1 / 3])
    frame["prediction"] = np.where(frame["x0"] > 0, "yes", "no")
    frame["label"] = np.where(rng.random(rows) < 0.9, frame["prediction"], "flipped")
    return frame


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return window(1)


@pytest.fixture(scope="module")
def shifted() -> pd.DataFrame:
    return window(2, shifted=3, colours=[0.7, 0.2, 0.1])


@pytest.fixture(scope="module")
def unshifted() -> pd.DataFrame:
    return window(3)


def test_a_shifted_window_is_detected(reference, shifted):
    summary = run_drift(reference, shifted, drift_share=0.3)

    assert summary.status == OK
    assert set(summary.drifted) == {"x0", "x1", "x2", "colour"}
    assert summary.drifted_columns == 4
    assert summary.drift_share == pytest.approx(4 / 11)
    assert summary.dataset_drift is True
    # The output and the label are not inputs: they are not tested for drift by default.
    assert {c.column for c in summary.columns} == {*NUMERIC, "colour"}
    tests = {c.column: c.test for c in summary.columns}
    assert tests["x0"] == "K-S p_value"
    assert tests["colour"] == "chi-square p_value"
    # With the default share (half the columns) four drifted columns of eleven are no verdict.
    assert run_drift(reference, shifted).dataset_drift is False


def test_an_unshifted_window_is_not(reference, unshifted):
    summary = run_drift(reference, unshifted, drift_share=0.3)

    assert summary.status == OK
    assert summary.dataset_drift is False
    # Eleven tests at p < 0.05 on identical distributions: at most a stray false alarm.
    assert summary.drifted_columns <= 1
    assert not {"x0", "x1", "x2", "colour"} <= set(summary.drifted)


@pytest.mark.parametrize(
    "kwargs", [{}, {"column_threshold": 0.2}, {"per_column_method": {"x3": "wasserstein"}}]
)
def test_agrees_with_evidently_called_directly(reference, shifted, kwargs):
    summary = run_drift(reference, shifted, **kwargs)

    columns = [*NUMERIC, "colour"]
    direct = Report(
        [
            DataDriftPreset(
                columns=columns,
                threshold=kwargs.get("column_threshold"),
                per_column_method=kwargs.get("per_column_method"),
            )
        ]
    ).run(shifted[columns], reference[columns])
    metrics = direct.dict()["metrics"]
    count = next(m for m in metrics if m["config"]["type"].endswith(":DriftedColumnsCount"))
    scores = {
        m["config"]["column"]: m["value"]
        for m in metrics
        if m["config"]["type"].endswith(":ValueDrift")
    }

    assert summary.drifted_columns == int(count["value"]["count"])
    assert summary.drift_share == pytest.approx(count["value"]["share"])
    for column in summary.columns:
        assert column.score == pytest.approx(scores[column.column])
    if "per_column_method" in kwargs:
        x3 = next(c for c in summary.columns if c.column == "x3")
        assert x3.test == "wasserstein"
        # A distance drifts when it is above its threshold, unlike a p-value.
        assert x3.drifted == (x3.score >= x3.threshold)
    if "column_threshold" in kwargs:
        assert {c.threshold for c in summary.columns} == {0.2}


def test_a_tiny_window_is_insufficient_data(reference):
    summary = run_drift(reference, window(4, rows=20, shifted=5), min_rows=100)

    assert summary.status == INSUFFICIENT_DATA
    assert summary.dataset_drift is None
    assert summary.columns == []
    assert (summary.rows_reference, summary.rows_current) == (600, 20)
    assert run_drift(window(5, rows=50), reference).status == INSUFFICIENT_DATA


def test_summary_is_json_and_carries_performance(reference, shifted):
    summary = run_drift(reference, shifted, task="classification")

    data = json.loads(json.dumps(summary.as_dict()))
    assert data["columns"][0].keys() == {"column", "test", "score", "threshold", "drifted"}
    assert data["performance"]["reference"]["rows_labelled"] == 600
    assert 0.85 < data["performance"]["reference"]["accuracy"] < 0.95
    assert data["performance"]["current"]["accuracy"] is not None

    regression = reference.assign(prediction=1.0, label=3.0)
    result = run_drift(regression, regression, task="regression").performance
    assert result["current"] == {"rows_labelled": 600, "rmse": 2.0, "mae": 2.0}


def test_the_html_report_is_written_and_self_contained(reference, shifted, tmp_path):
    path = tmp_path / "drift.html"
    run_drift(reference, shifted, html_path=str(path))

    html = path.read_text()
    assert "x0" in html and len(html) > 100_000
    # Served air-gapped: every script is inline, no stylesheet or font is fetched.
    assert re.findall(r"<script[^>]*\bsrc=", html) == []
    assert re.findall(r"<link[^>]*\bhref=[\"']?(?:https?:)?//", html) == []
    assert re.findall(r"@import\s+url\([\"']?(?:https?:)?//", html) == []
    assert re.findall(r"url\([\"']?https?://", html) == []
