"""The drift reference is the training split: the rows a real training run fitted its
preprocessing on (read back from the logged MLflow model), not just a split computed alike."""

from __future__ import annotations

import os
from unittest import mock

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.workers.training import make_frame, write_csv
from workers.drift.reference import (
    DEFAULT_FRACTION,
    DEFAULT_SEED,
    ReferenceDataError,
    training_split,
    whole_table,
)
from workers.training import Callbacks, TrainSpec, train
from workers.training.preprocess import MISSING, Preprocessor


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    frame = make_frame(rows=300).drop(columns=["value", "grade"])
    # A few rows without a target: training drops them before splitting, so must the reference.
    frame.loc[[3, 50, 120], "label"] = None
    return root, write_csv(frame, root / "data.csv")


def _trained(root, path, params: dict) -> tuple[Preprocessor, int]:
    """The preprocessing a real training run fitted, and how many rows it trained on."""
    uri = f"sqlite:///{root}/mlflow-{len(list(root.iterdir()))}.db"
    spec = TrainSpec(
        data_path=path, data_format="csv", target="label", task="classification",
        template="linear", params={"epochs": 1, "device": "cpu", **params},
        experiment="reference", model_name="reference", tracking_uri=uri,
        artifact_root=str(root / "artifacts"), tags={},
    )  # fmt: skip
    result = train(spec, Callbacks())
    # Through the environment, for this call only: mlflow.set_tracking_uri would outlive the
    # test and send later tests' loads to this store.
    with mock.patch.dict(os.environ, {"MLFLOW_TRACKING_URI": uri}):
        model = mlflow.pyfunc.load_model(result.model_uri).unwrap_python_model()
    client = mlflow.MlflowClient(uri)
    n_train = int(client.get_run(result.mlflow_run_id).data.params["n_train_rows"])
    return model.preprocessor, n_train


@pytest.mark.parametrize(
    "params, seed, fraction",
    [({"seed": 3, "validation_fraction": 0.3}, 3, 0.3), ({}, DEFAULT_SEED, DEFAULT_FRACTION)],
)
def test_the_reference_is_the_split_training_fitted_on(data, params, seed, fraction):
    root, path = data
    fitted, n_train = _trained(root, path, params)
    columns = ["x1", "x2", "count", "color", "flag"]
    reference = training_split(path, "csv", "label", "classification", fraction, seed, columns)

    # Fitting the same preprocessing on the reference reproduces training's fit exactly: same
    # rows (the medians, means and category sets would differ for almost any other subset).
    again = Preprocessor(fitted.numeric, fitted.categorical).fit(reference)
    assert again.medians == fitted.medians
    assert again.means == pytest.approx(fitted.means, rel=0, abs=1e-12)
    assert again.stds == pytest.approx(fitted.stds, rel=0, abs=1e-12)
    assert again.categories == fitted.categories
    assert list(reference.columns) == columns
    assert len(reference) == n_train
    # A different seed is a different subset: the comparison above is not vacuous.
    other = training_split(path, "csv", "label", "classification", fraction, seed + 1, columns)
    assert Preprocessor(fitted.numeric, fitted.categorical).fit(other).means != fitted.means


def test_text_columns_are_plain_strings_not_categoricals(data):
    _, path = data
    reference = training_split(path, "csv", "label", "classification", columns=["color", "x1"])
    assert reference["color"].dtype == object
    values = reference["color"].dropna()
    assert len(values) and all(isinstance(v, str) for v in values)
    assert MISSING not in set(values)
    assert reference["x1"].dtype == np.float64


def test_a_missing_column_is_a_clear_error(data):
    _, path = data
    with pytest.raises(ReferenceDataError, match="'income'"):
        training_split(path, "csv", "label", "classification", columns=["x1", "income"])
    with pytest.raises(ReferenceDataError, match="'income'"):
        whole_table(path, "csv", ["income"])


def test_whole_table_keeps_every_row_and_decodes_dictionaries(tmp_path):
    frame = pd.DataFrame(
        {"x": [1.5, 2.5, None, 4.0], "c": ["a", "b", None, "a"], "y": [1, 2, 3, 4]}
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(1, "c", table.column("c").dictionary_encode())
    pq.write_table(table, tmp_path / "data.parquet")
    result = whole_table(tmp_path / "data.parquet", "parquet", ["c", "x"])
    assert list(result.columns) == ["c", "x"]
    assert len(result) == 4
    assert result["c"].dtype == object
    assert result["c"].tolist()[:2] == ["a", "b"]
    assert result["x"].isna().sum() == 1
    csv = write_csv(frame, tmp_path / "data.csv")
    assert len(whole_table(csv, "csv")) == 4
