"""Reading a dataset version into features and a target, and splitting it.

The whole file is read with pyarrow: column kinds come from the Arrow schema (reliable for both
CSV and Parquet), and the target's nulls are dropped in Arrow before pandas sees the column, so
an integer target with gaps stays integer instead of becoming float.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from workers.training.errors import TrainingError

MIN_ROWS = 10


@dataclass
class Dataset:
    features: pd.DataFrame  # raw feature columns, as read
    numeric: list[str]
    categorical: list[str]
    input_types: dict[str, str]  # column -> MLflow schema type ("double", "string", "boolean")
    y: np.ndarray  # class codes (int64) or float64 values
    classes: list | None  # sorted labels (str, int or bool) for classification


def read_table(path: Path, fmt: str) -> pa.Table:
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    try:
        if fmt == "csv":
            # Empty text fields are missing values, as the dataset profiler counts them.
            options = pv.ConvertOptions(strings_can_be_null=True)
            return pv.read_csv(path, convert_options=options)
        if fmt == "parquet":
            return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise TrainingError(f"The dataset file could not be read: {error}") from error
    raise TrainingError(f"Unknown data format {fmt!r}; expected csv or parquet.")


def load_dataset(
    path: Path, fmt: str, target: str, task: str, log: Callable[[str], None]
) -> Dataset:
    table = read_table(Path(path), fmt)
    if target not in table.column_names:
        shown = ", ".join(table.column_names[:20])
        raise TrainingError(
            f"The target column {target!r} is not in the dataset (columns: {shown})."
        )
    if table.column_names.count(target) > 1:
        raise TrainingError(f"The dataset has more than one column named {target!r}.")
    column = table[target]
    keep = pc.is_valid(column)
    if pa.types.is_floating(column.type):
        keep = pc.and_(keep, pc.invert(pc.is_nan(column)))
    table = table.filter(keep)
    dropped = len(keep) - table.num_rows
    if dropped:
        log(f"dropped {dropped} row(s) with a missing target")
    if table.num_rows < MIN_ROWS:
        raise TrainingError(
            f"Only {table.num_rows} row(s) have a value in {target!r}; at least {MIN_ROWS} are "
            f"needed to train and validate."
        )

    y, classes = _target(table[target], target, task, log)
    numeric, categorical, input_types, skipped = [], [], {}, []
    for field in table.schema:
        if field.name == target:
            continue
        kind = _kind(field.type)
        if kind == "numeric":
            numeric.append(field.name)
            input_types[field.name] = "double"
        elif kind == "categorical":
            categorical.append(field.name)
            input_types[field.name] = "boolean" if pa.types.is_boolean(field.type) else "string"
        else:
            skipped.append(f"{field.name} ({kind})")
    if skipped:
        log(f"dropped column(s) the templates cannot use: {', '.join(skipped)}")
    if not input_types:
        raise TrainingError(f"The dataset has no usable feature columns besides {target!r}.")
    # Text as pandas categoricals: built from Arrow's dictionary encoding without one Python
    # string per row, and the preprocessing works on their integer codes.
    features = table.select(list(input_types)).to_pandas(strings_to_categorical=True)
    return Dataset(features, numeric, categorical, input_types, y, classes)


def _kind(arrow_type: pa.DataType) -> str:
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "numeric"
    if pa.types.is_decimal(arrow_type):
        return "numeric"
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_dictionary(arrow_type)
    ):
        return "categorical"
    if (
        pa.types.is_timestamp(arrow_type)
        or pa.types.is_date(arrow_type)
        or pa.types.is_time(arrow_type)
        or pa.types.is_duration(arrow_type)
    ):
        return "datetime"
    if pa.types.is_null(arrow_type):
        return "empty"
    return str(arrow_type)


def _target(
    column: pa.ChunkedArray, name: str, task: str, log: Callable[[str], None]
) -> tuple[np.ndarray, list | None]:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(pa.string())
        kind = column.type
    if task == "regression":
        if pa.types.is_boolean(kind) or not (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        ):
            raise TrainingError(
                f"Regression needs a numeric target, but {name!r} holds {kind} values; "
                f"choose classification or another column."
            )
        y = column.cast(pa.float64()).to_numpy()
        if not np.isfinite(y).all():
            raise TrainingError(f"The target {name!r} has infinite values.")
        return y, None
    if task != "classification":
        raise TrainingError(f"Unknown task {task!r}; expected classification or regression.")

    values = column.to_pandas()
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        as_float = values.astype("float64")
        if not np.equal(np.mod(as_float, 1), 0).all():
            raise TrainingError(
                f"The target {name!r} holds decimal numbers; classification needs labels "
                f"(text, integers or booleans). Use regression for a continuous target."
            )
        values = as_float.astype("int64")
        log(f"target {name!r} holds whole numbers stored as decimals; using them as integer labels")
    elif not (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_boolean(kind)
    ):
        raise TrainingError(
            f"A classification target must hold text, integers or booleans; {name!r} holds {kind}."
        )
    codes, uniques = pd.factorize(values, sort=True)
    classes = [value.item() if isinstance(value, np.generic) else value for value in uniques]
    if len(classes) < 2:
        raise TrainingError(
            f"The target {name!r} has a single class ({classes[0]!r}); classification needs two."
        )
    counts = np.bincount(codes, minlength=len(classes))
    lonely = [classes[i] for i in np.flatnonzero(counts < 2)]
    if lonely:
        shown = ", ".join(repr(label) for label in lonely[:5])
        raise TrainingError(
            f"Class(es) {shown} of {name!r} have a single row; every class needs at least two "
            f"(one to train on, one to validate)."
        )
    return codes.astype(np.int64), classes


def split_indices(
    y: np.ndarray, classes: list | None, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows), both sorted. Classification is stratified: every class has
    at least one row on each side, so every held-out metric is defined."""
    rng = np.random.default_rng(seed)
    n = len(y)
    if classes is None:
        order = rng.permutation(n)
        n_val = min(max(1, round(n * fraction)), n - 2)  # >= 2 training rows for batch norm
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    train, val = [], []
    for code in range(len(classes)):
        rows = rng.permutation(np.flatnonzero(y == code))
        k = min(max(1, round(len(rows) * fraction)), len(rows) - 1)
        val.append(rows[:k])
        train.append(rows[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))
