"""Reference frames for drift: the rows a model version was trained on, or a whole table.

Free of Django: callers pass the dataset version's file path and format. The training split is
rebuilt with the training worker's own reader and splitter (workers.training.data), so it is
row for row the split the model learnt from. Text columns come back as plain Python strings
(object dtype), never pandas categoricals, so they compare with a prediction window, whose
text values are strings too.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from workers.training.data import load_dataset, read_table, split_indices
from workers.training.params import COMMON_PARAMS

# The training job's defaults when its params lack them (older jobs, direct rows).
DEFAULTS = {spec.name: spec.default for spec in COMMON_PARAMS}
DEFAULT_SEED: int = DEFAULTS["seed"]
DEFAULT_FRACTION: float = DEFAULTS["validation_fraction"]


class ReferenceDataError(ValueError):
    """The reference cannot be built (a column is missing, the file cannot be read)."""


def training_split(
    path: Path | str,
    fmt: str,
    target: str,
    task: str,
    fraction: float = DEFAULT_FRACTION,
    seed: int = DEFAULT_SEED,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """The training rows of a training job (not its validation rows), input columns only.

    `columns` selects and orders the inputs; None keeps every feature the training used."""
    dataset = load_dataset(Path(path), fmt, target, task, log=lambda _line: None)
    train_rows, _ = split_indices(dataset.y, dataset.classes, fraction, seed)
    frame = _select(dataset.features, columns)
    return _plain(frame.iloc[train_rows]).reset_index(drop=True)


def whole_table(path: Path | str, fmt: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Every row of a dataset version (a reference the user chose), `columns` only."""
    table = read_table(Path(path), fmt)
    if columns is not None:
        _require(list(table.column_names), columns)
        table = table.select(columns)
    # Dictionary-encoded Parquet columns would become categoricals: decode them first.
    table = pa.table(
        {
            name: (
                column.cast(column.type.value_type)
                if pa.types.is_dictionary(column.type)
                else column
            )
            for name, column in zip(table.column_names, table.columns, strict=True)
        }
    )
    return _plain(table.to_pandas())


def _select(frame: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    if columns is None:
        return frame
    _require(list(frame.columns), columns)
    return frame[list(columns)]


def _require(available: list[str], columns: list[str]) -> None:
    missing = [c for c in columns if c not in available]
    if missing:
        raise ReferenceDataError(
            f"The reference data has no column(s) {', '.join(map(repr, missing))} "
            f"(it has {', '.join(available[:20])})."
        )


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    categorical = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not categorical:
        return frame
    frame = frame.copy()
    for name in categorical:
        frame[name] = frame[name].astype(object)
    return frame
