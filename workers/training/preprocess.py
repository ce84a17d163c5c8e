"""Feature preprocessing fitted on the training split only, applied unchanged everywhere else.

numeric:      to float (non-numbers and infinities count as missing) -> impute the training
              median -> standardise with the training mean and standard deviation
categorical:  text key (booleans as "True"/"False") -> missing becomes "__missing__" -> one-hot
              over the training categories; a category never seen in training is all zeros

The fitted state is plain lists and floats, so it pickles small inside the pyfunc model. This
module imports nothing but numpy and pandas: the logged model carries a copy of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MISSING = "__missing__"
# Beyond this many categories in a column, the rarer ones share the "unknown" all-zeros encoding;
# an id-like text column would otherwise make the input layer as wide as the dataset.
MAX_CATEGORIES = 256


class Preprocessor:
    def __init__(self, numeric: list[str], categorical: list[str]) -> None:
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.medians: list[float] = []
        self.means: list[float] = []
        self.stds: list[float] = []
        self.categories: list[list[str]] = []
        self.truncated: list[str] = []  # columns whose rarest categories were left out

    @property
    def n_features(self) -> int:
        return len(self.numeric) + sum(len(cats) for cats in self.categories)

    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        for column, cats in zip(self.categorical, self.categories, strict=True):
            names.extend(f"{column}={cat}" for cat in cats)
        return names

    def fit(self, frame: pd.DataFrame) -> Preprocessor:
        self.medians, self.means, self.stds = [], [], []
        for column in self.numeric:
            values = _numbers(frame, column)
            finite = values[~np.isnan(values)]
            median = float(np.median(finite)) if finite.size else 0.0
            filled = np.where(np.isnan(values), median, values)
            std = float(filled.std()) if filled.size else 0.0
            self.medians.append(median)
            self.means.append(float(filled.mean()) if filled.size else 0.0)
            # A constant column carries no information; dividing by 1 keeps it finite.
            self.stds.append(std if std > 1e-12 else 1.0)
        self.categories, self.truncated = [], []
        for column in self.categorical:
            codes, keys = _factorized(frame, column)
            counts: dict[str, int] = {}
            for key, count in zip(keys, np.bincount(codes, minlength=len(keys)), strict=True):
                if count:
                    counts[key] = counts.get(key, 0) + int(count)
            if len(counts) > MAX_CATEGORIES:
                self.truncated.append(column)
                # Most frequent first, ties by name, so the choice does not depend on row order.
                ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
                counts = dict(ranked[:MAX_CATEGORIES])
            self.categories.append(sorted(counts))
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """float32 array (rows, n_features). Columns missing from `frame` count as all-missing."""
        n = len(frame)
        out = np.zeros((n, self.n_features), dtype=np.float32)
        for j, column in enumerate(self.numeric):
            values = _numbers(frame, column)
            values = np.where(np.isnan(values), self.medians[j], values)
            out[:, j] = (values - self.means[j]) / self.stds[j]
        offset = len(self.numeric)
        rows = np.arange(n)
        for column, cats in zip(self.categorical, self.categories, strict=True):
            codes, keys = _factorized(frame, column)
            # Per distinct value, not per row: the rows only go through integer lookups.
            position = {cat: i for i, cat in enumerate(cats)}
            lookup = np.array([position.get(key, -1) for key in keys], dtype=np.int64)
            columns = lookup[codes]
            known = columns >= 0
            out[rows[known], offset + columns[known]] = 1.0
            offset += len(cats)
        return out


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    numbers = pd.to_numeric(frame[column], errors="coerce")
    # copy: the in-place edit below must never write into the caller's frame.
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    values[~np.isfinite(values)] = np.nan
    return values


def _factorized(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, list[str]]:
    """(codes, keys): row i holds keys[codes[i]]. Keys are text: str(value), so booleans are
    "True"/"False" whether they arrive as a bool column or as objects with None among them,
    and missing values are MISSING (always the last key)."""
    if column not in frame:
        return np.zeros(len(frame), dtype=np.int64), [MISSING]
    series = frame[column]
    if isinstance(series.dtype, pd.CategoricalDtype):  # how the trainer reads text columns
        codes = series.cat.codes.to_numpy().astype(np.int64)
        uniques = list(series.cat.categories)
    else:
        codes, found = pd.factorize(series, use_na_sentinel=True)
        uniques = list(found)
    keys = [str(value) for value in uniques] + [MISSING]
    return np.where(codes < 0, len(keys) - 1, codes), keys
