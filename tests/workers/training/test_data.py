"""Reading, splitting, preprocessing and metrics, each on its own (no MLflow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.workers.training import make_frame, write_csv
from workers.training import TrainingError
from workers.training import metrics as m
from workers.training.data import load_dataset, split_indices
from workers.training.preprocess import MAX_CATEGORIES, MISSING, Preprocessor


def load(path, target="label", task="classification", fmt="csv"):
    lines: list[str] = []
    return load_dataset(path, fmt, target, task, lines.append), lines


def test_columns_are_typed_from_the_file_and_dates_dropped(tmp_path):
    data, lines = load(write_csv(make_frame(), tmp_path / "d.csv"))
    assert data.numeric == ["x1", "x2", "count", "value", "grade"]
    assert data.categorical == ["color", "flag"]
    assert data.input_types["flag"] == "boolean"
    assert data.input_types["color"] == "string"
    assert data.input_types["count"] == "double"
    assert "when" not in data.features
    assert any("when (datetime)" in line for line in lines)
    assert data.classes == ["no", "yes"]
    assert data.features["color"].isna().sum() > 0  # empty CSV fields are missing, not ""


def test_rows_without_a_target_are_dropped_and_integer_labels_stay_integers(tmp_path):
    frame = make_frame(60)
    frame["grade"] = frame["grade"].astype("Int64")
    frame.loc[:4, "grade"] = pd.NA
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "d.parquet")
    data, lines = load(tmp_path / "d.parquet", target="grade", fmt="parquet")
    assert len(data.y) == 55
    assert data.classes == [0, 1, 2] and all(type(c) is int for c in data.classes)
    assert "dropped 5 row(s) with a missing target" in lines


def test_boolean_labels(tmp_path):
    frame = make_frame(60)
    frame["ok"] = frame["x2"] > 5
    data, _ = load(write_csv(frame, tmp_path / "d.csv"), target="ok")
    assert data.classes == [False, True]


@pytest.mark.parametrize(
    ("change", "target", "task", "fragment"),
    [
        (lambda f: f, "nope", "classification", "target column 'nope' is not in the dataset"),
        (lambda f: f, "label", "regression", "Regression needs a numeric target"),
        (lambda f: f, "flag", "regression", "Regression needs a numeric target"),
        (lambda f: f.head(9), "label", "classification", "at least 10 are needed"),
        (lambda f: f.assign(label="yes"), "label", "classification", "single class"),
        (lambda f: f.assign(v=f.x2), "v", "classification", "decimal numbers"),
        (lambda f: f[["when", "label"]], "label", "classification", "no usable feature columns"),
        (
            lambda f: f.assign(label=["lonely"] + ["yes", "no"] * 29 + ["no"]),
            "label",
            "classification",
            "'lonely'",
        ),
    ],
)
def test_refusals_say_why(tmp_path, change, target, task, fragment):
    path = write_csv(change(make_frame(60)), tmp_path / "d.csv")
    with pytest.raises(TrainingError, match=fragment):
        load(path, target=target, task=task)


def test_stratified_split_puts_every_class_on_both_sides():
    y = np.array([0] * 90 + [1] * 8 + [2] * 2)
    train, val = split_indices(y, [0, 1, 2], 0.2, seed=1)
    assert sorted(np.concatenate([train, val])) == list(range(100))
    for code in (0, 1, 2):
        assert (y[train] == code).any() and (y[val] == code).any()
    assert len(val) == 18 + 2 + 1
    again = split_indices(y, [0, 1, 2], 0.2, seed=1)
    other = split_indices(y, [0, 1, 2], 0.2, seed=2)
    assert np.array_equal(again[1], val) and not np.array_equal(other[1], val)


def test_regression_split_keeps_two_training_rows():
    train, val = split_indices(np.arange(10.0), None, 0.5, seed=0)
    assert len(train) == 5 and len(val) == 5


def test_preprocessing_uses_training_statistics_only():
    train = pd.DataFrame({"x": [1.0, 2.0, np.nan, 5.0], "c": ["a", "b", None, "a"]})
    later = pd.DataFrame({"x": [np.nan, 100.0, "oops"], "c": ["zzz", "b", None]})
    pre = Preprocessor(["x"], ["c"]).fit(train)
    assert pre.medians == [2.0]
    filled = np.array([1.0, 2.0, 2.0, 5.0])
    assert pre.means == [pytest.approx(filled.mean())]
    assert pre.stds == [pytest.approx(filled.std())]
    assert pre.categories == [[MISSING, "a", "b"]]
    assert pre.feature_names == ["x", f"c={MISSING}", "c=a", "c=b"]
    out = pre.transform(later)
    assert out.dtype == np.float32 and out.shape == (3, 4)
    median_z = (2.0 - filled.mean()) / filled.std()
    assert out[0, 0] == pytest.approx(median_z)  # missing -> training median
    assert out[2, 0] == pytest.approx(median_z)  # not a number -> missing
    assert out[1, 0] == pytest.approx((100 - filled.mean()) / filled.std())
    assert out[0, 1:].tolist() == [0, 0, 0]  # unseen category -> all zeros
    assert out[1, 1:].tolist() == [0, 0, 1]
    assert out[2, 1:].tolist() == [1, 0, 0]  # missing is a category of its own
    floats = pd.DataFrame({"x": [np.inf, np.nan], "c": ["a", "a"]})
    assert pre.transform(floats)[0, 0] == pytest.approx(median_z)  # infinity -> missing
    assert np.isinf(floats["x"][0])  # the caller's frame is left alone


def test_preprocessing_handles_booleans_missing_columns_and_constants():
    train = pd.DataFrame({"k": [3.0, 3.0], "b": [True, False]})
    pre = Preprocessor(["k"], ["b"]).fit(train)
    assert pre.stds == [1.0]
    assert pre.categories == [["False", "True"]]
    out = pre.transform(pd.DataFrame({"b": pd.Series([True, None], dtype=object)}))
    assert out.tolist() == [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]


def test_many_categories_keep_the_most_frequent():
    values = [f"v{i}" for i in range(MAX_CATEGORIES + 50)] + ["common"] * 5
    pre = Preprocessor([], ["c"]).fit(pd.DataFrame({"c": values}))
    assert pre.truncated == ["c"]
    assert len(pre.categories[0]) == MAX_CATEGORIES and "common" in pre.categories[0]


def test_classification_metrics_match_scikit_learn():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    for k in (2, 4):
        y = rng.integers(0, k, 300)
        logits = rng.normal(size=(300, k)) + np.eye(k)[y] * 1.5
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        proba = np.round(proba, 2)  # ties exercise the rank averaging
        proba /= proba.sum(axis=1, keepdims=True)
        got = m.classification(y, proba)
        predicted = proba.argmax(axis=1)
        assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, predicted))
        average = "binary" if k == 2 else "macro"
        assert got["f1"] == pytest.approx(sk.f1_score(y, predicted, average=average))
        expected_auc = (
            sk.roc_auc_score(y, proba[:, 1])
            if k == 2
            else sk.roc_auc_score(y, proba, multi_class="ovr", average="macro")
        )
        assert got["roc_auc"] == pytest.approx(expected_auc)
        assert got["log_loss"] == pytest.approx(sk.log_loss(y, proba, labels=list(range(k))))


def test_regression_metrics_match_scikit_learn():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(4)
    y = rng.normal(size=200)
    predicted = y + rng.normal(0, 0.5, 200)
    got = m.regression(y, predicted)
    assert got["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, predicted)))
    assert got["mae"] == pytest.approx(sk.mean_absolute_error(y, predicted))
    assert got["r2"] == pytest.approx(sk.r2_score(y, predicted))
    assert m.regression(np.ones(3), np.ones(3))["r2"] == 1.0
    assert m.regression(np.ones(3), np.zeros(3))["r2"] == 0.0


def test_auc_is_left_out_when_undefined():
    got = m.classification(np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]]))
    assert "roc_auc" not in got and got["accuracy"] == 0.5
