"""One column of one record batch in the shape the statistics and rules need, and 64-bit keys
for telling values apart (distinct counts, the `unique` rule) without keeping Python objects."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class Chunk:
    """A batch's column with dictionaries decoded, decimals as float64 and NaN counted as
    missing (as pandas does), so every consumer sees the same notion of "present"."""

    def __init__(self, array: pa.Array, kind: str, offset: int) -> None:
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if pa.types.is_null(array.type):
            array = pa.nulls(len(array), pa.string())
        elif kind == "float" and not pa.types.is_float64(array.type):
            array = array.cast(pa.float64())
        self.kind = kind
        self.offset = offset  # data rows before this batch
        self.length = len(array)
        if kind == "float":
            values = array.to_numpy(zero_copy_only=False)  # nulls arrive as NaN
            nan = np.isnan(values)
            self.missing_count = int(nan.sum())
            self.missing = nan if self.missing_count else None
            self._floats = values[~nan] if self.missing_count else values
        else:
            self.missing_count = array.null_count
            self.missing = (
                array.is_null().to_numpy(zero_copy_only=False) if self.missing_count else None
            )
            self._array = array.drop_null() if self.missing_count else array

    @property
    def count(self) -> int:
        return self.length - self.missing_count

    @cached_property
    def present(self) -> pa.Array:
        """The non-missing values as an Arrow array."""
        if self.kind == "float":
            return pa.array(self._floats, type=pa.float64())
        return self._array

    @cached_property
    def numbers(self) -> np.ndarray:
        """Non-missing values as numpy: float64 (floats), the column's own integer dtype,
        int64 ticks (datetimes) or 0/1 (booleans)."""
        if self.kind == "float":
            return self._floats
        if self.kind == "datetime":
            return _datetime_ticks(self.present)
        if self.kind == "boolean":
            return self.present.to_numpy(zero_copy_only=False).astype(np.int64)
        return self.present.to_numpy()

    @cached_property
    def keys(self) -> np.ndarray:
        """A uint64 per present value: see value_keys."""
        if self.kind == "string":
            return string_keys(self.present)
        return _number_keys(self.numbers, self.kind)

    def missing_rows(self, limit: int) -> list[int]:
        """1-based data row numbers of the first `limit` missing values in this batch."""
        if self.missing is None or limit <= 0:
            return []
        return [int(i) + self.offset + 1 for i in np.flatnonzero(self.missing)[:limit]]


def value_keys(array: pa.Array, kind: str) -> np.ndarray:
    """A uint64 per value of a null-free array of the given logical type; equal values give
    equal keys. Exact for every type but strings, whose keys are 64-bit hashes (the chance of
    any collision among a million distinct strings is about 3e-8)."""
    if kind == "string":
        return string_keys(array)
    if kind == "datetime":
        return _number_keys(_datetime_ticks(array), kind)
    return _number_keys(array.to_numpy(zero_copy_only=False), kind)


def _number_keys(values: np.ndarray, kind: str) -> np.ndarray:
    if kind == "float":
        return (values.astype(np.float64, copy=False) + 0.0).view(np.uint64)  # -0.0 == 0.0
    # Wrapping uint64 values above 2**63 keeps keys distinct.
    return values.astype(np.int64, copy=False).view(np.uint64)


def _datetime_ticks(array: pa.Array) -> np.ndarray:
    if pa.types.is_date32(array.type):
        return array.cast(pa.int32()).to_numpy().astype(np.int64)
    return array.cast(pa.int64()).to_numpy()


def ticks_to_iso(ticks: int, arrow_type: pa.DataType) -> str:
    storage = pa.int32() if pa.types.is_date32(arrow_type) else pa.int64()
    scalar = pa.array([ticks], type=storage).cast(arrow_type)[0]
    try:
        return scalar.as_py().isoformat()
    except (ValueError, OverflowError):  # beyond Python's datetime (after year 9999)
        return str(scalar)


# -- string hashing --------------------------------------------------------------------------

# Tabulation hashing: each (position, byte) pair draws an independent random 64-bit word, the
# words are summed per string (wrapping) and the sum mixed with splitmix64. Vectorised over a
# slice of strings, it costs a few numpy passes over the bytes.
_TABLE = np.frombuffer(np.random.default_rng(0x5EED).bytes(256 * 256 * 8), dtype=np.uint64)
_TABLE = _TABLE.reshape(256, 256)
_SLICE = 1 << 16  # strings per pass, so the per-byte temporaries stay a few MB


def string_keys(array: pa.Array) -> np.ndarray:
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.large_string())
    out = np.empty(len(array), dtype=np.uint64)
    for start in range(0, len(array), _SLICE):
        out[start : start + _SLICE] = _hash_strings(array.slice(start, _SLICE))
    return out


def _hash_strings(array: pa.Array) -> np.ndarray:
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    _, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(
        offsets_buf,
        dtype=width,
        count=len(array) + 1,
        offset=array.offset * np.dtype(width).itemsize,
    ).astype(np.int64)
    base = int(offsets[0])
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0)
    text = data[base : int(offsets[-1])]
    starts = offsets[:-1] - base
    lengths = np.diff(offsets)
    position = np.arange(len(text), dtype=np.int64) - np.repeat(starts, lengths)
    # Past 256 bytes the table repeats; an odd multiplier per 256-byte lap keeps laps apart.
    lap = (position >> 8).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    words = _TABLE[position & 255, text.astype(np.intp)] * lap
    sums = np.zeros(len(text) + 1, dtype=np.uint64)
    np.cumsum(words, dtype=np.uint64, out=sums[1:])
    hashed = sums[starts + lengths] - sums[starts]
    return _splitmix64(hashed + lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


# -- key sets ----------------------------------------------------------------------------------


class KeySet:
    """A set of uint64 keys as a few sorted numpy arrays whose sizes grow geometrically (like an
    LSM tree): adding a batch costs O(batch log n) amortised instead of re-sorting everything,
    and takes 8 bytes per key instead of a Python int's ~40."""

    def __init__(self) -> None:
        self._levels: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(level) for level in self._levels)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        found = np.zeros(len(keys), dtype=bool)
        for level in self._levels:
            at = np.minimum(np.searchsorted(level, keys), len(level) - 1)
            found |= level[at] == keys
        return found

    def add_new(self, sorted_new: np.ndarray) -> None:
        """Add sorted keys, none of them present yet (callers check with `contains`)."""
        if not len(sorted_new):
            return
        self._levels.append(sorted_new)
        while len(self._levels) > 1 and len(self._levels[-2]) <= 2 * len(self._levels[-1]):
            newer, older = self._levels.pop(), self._levels.pop()
            # Timsort finds the two sorted runs and merges them in linear time.
            self._levels.append(np.sort(np.concatenate([older, newer]), kind="stable"))


def split_repeats(keys: np.ndarray, seen: KeySet) -> tuple[np.ndarray | None, np.ndarray]:
    """For one batch: a mask of values whose key occurred earlier (in this batch or in `seen`),
    None when there is none (the common case, kept cheap), and the sorted keys that are new.
    Does not change `seen`."""
    ordered = np.sort(keys)
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    firsts = ordered[first]
    known = seen.contains(firsts)
    if len(firsts) == len(keys) and not known.any():
        return None, firsts
    repeat = np.ones(len(keys), dtype=bool)
    repeat[np.unique(keys, return_index=True)[1]] = False
    repeat |= np.isin(keys, firsts[known])
    return repeat, firsts[~known]


# -- JSON ----------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A value safe for JSON: no numpy scalars, no NaN or infinities, dates as ISO text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return jsonable(float(value))
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def count_true(mask: pa.Array) -> int:
    return int(pc.sum(mask).as_py() or 0)
