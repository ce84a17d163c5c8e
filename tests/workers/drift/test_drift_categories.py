"""run_drift hands Evidently text columns as pandas categories: same verdicts, less time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

from workers.drift.report import as_categories, run_drift


def frame(seed: int, rows: int, levels: list, weights: list[float]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(0.0, 1.0, rows),
            # Missing values, a level only one side has, numbers mixed with text.
            "colour": rng.choice(np.array(levels, dtype=object), rows, p=weights),
            "code": rng.choice(np.array(["1", "2", 3, None], dtype=object), rows),
        }
    )


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return frame(1, 800, ["red", "green", "blue", None], [0.4, 0.3, 0.2, 0.1])


@pytest.fixture(scope="module")
def current() -> pd.DataFrame:
    return frame(2, 700, ["red", "green", "violet", None], [0.2, 0.3, 0.3, 0.2])


@pytest.mark.parametrize("method", [None, "chisquare", "jensenshannon", "psi", "TVD", "hellinger"])
def test_scores_and_verdicts_are_evidentlys_on_plain_objects(reference, current, method):
    per_column = {"colour": method, "code": method} if method else None
    summary = run_drift(reference, current, per_column_method=per_column)

    definition = DataDefinition(numerical_columns=["x"], categorical_columns=["colour", "code"])
    direct = Report(
        [DataDriftPreset(columns=["x", "colour", "code"], per_column_method=per_column)],
        include_tests=True,
    ).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    result = direct.dict()
    failed = {t["metric_config"]["metric_id"] for t in result["tests"] if t["status"] == "FAIL"}
    drift = {
        m["config"]["column"]: (m["value"], m["id"] in failed)
        for m in result["metrics"]
        if m["config"]["type"].endswith(":ValueDrift")
    }

    assert {c.column for c in summary.columns} == {"x", "colour", "code"}
    for column in summary.columns:
        score, drifted = drift[column.column]
        assert column.score == pytest.approx(score, nan_ok=True)
        assert column.drifted is drifted
    assert summary.columns[1].drifted  # "violet" is new: the colour drifted


def test_the_callers_frames_are_left_as_they_were(reference, current):
    before = reference.copy(), current.copy()

    run_drift(reference, current)

    pd.testing.assert_frame_equal(reference, before[0])
    pd.testing.assert_frame_equal(current, before[1])


def test_levels_are_shared_and_unhashable_values_stay_objects():
    ours = pd.DataFrame({"c": ["a", "b", None], "d": [{"k": 1}, {"k": 2}, None]})
    theirs = pd.DataFrame({"c": ["b", "z", "z"], "d": [{"k": 1}, None, None]})

    ours, theirs = as_categories(ours, theirs, ["c", "d"])

    assert ours["c"].dtype == theirs["c"].dtype == "category"
    assert list(ours["c"].cat.categories) == ["a", "b", "z"]
    assert ours["c"].tolist()[:2] == ["a", "b"] and pd.isna(ours["c"].iloc[2])
    assert ours["d"].dtype == object and theirs["d"].dtype == object
