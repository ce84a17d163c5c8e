"""Per-column statistics accumulated batch by batch.

Every accumulator summarises a batch with vectorised numpy/pyarrow calls and folds the summary
into its running state, so memory depends on the number of columns and the limits, not on the
number of rows.
"""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workers.datasets.column import Chunk, jsonable, ticks_to_iso, value_keys
from workers.datasets.errors import Limits

QUANTILES = {
    "p01": 0.01,
    "p05": 0.05,
    "p25": 0.25,
    "p50": 0.5,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
}
HISTOGRAM_BINS = 20
TOP_N = 10


class Reservoir:
    """A uniform random sample without replacement of at most `capacity` values from a stream,
    kept as a bottom-k sketch: every value draws a uniform random priority and the sample is
    the `capacity` values with the smallest priorities. Batches (or whole reservoirs, via
    `merge`) combine by keeping the smallest priorities of both. Once full, a value enters only
    if its priority beats the current threshold, so later batches cost little; the buffer may
    grow by a quarter before it is cut back, so the cut (a partition) is not done per batch.
    Holds every value while the stream is shorter than `capacity`."""

    def __init__(self, capacity: int, seed: int) -> None:
        self.capacity = max(1, capacity)
        self._room = self.capacity + self.capacity // 4  # slack before a cut
        self.values = np.empty(0, dtype=np.float64)
        self.priorities = np.empty(0, dtype=np.float32)
        self.seen = 0
        self._threshold = np.float32(1.0)  # a value needs a priority below this to enter
        self._rng = np.random.default_rng(seed)

    def add(self, values: np.ndarray) -> None:
        priorities = self._rng.random(len(values), dtype=np.float32)
        self.seen += len(values)
        if self._threshold < 1.0:
            enter = priorities < self._threshold
            values, priorities = values[enter], priorities[enter]
        self._keep(values, priorities, self._room)

    def merge(self, other: Reservoir) -> None:
        self.seen += other.seen
        self._keep(other.values, other.priorities, self._room)

    def _keep(self, values: np.ndarray, priorities: np.ndarray, room: int) -> None:
        if len(values):
            self.values = np.concatenate([self.values, values])
            self.priorities = np.concatenate([self.priorities, priorities])
        if len(self.values) > room:
            smallest = np.argpartition(self.priorities, self.capacity - 1)[: self.capacity]
            self.values, self.priorities = self.values[smallest], self.priorities[smallest]
            self._threshold = self.priorities.max()

    @property
    def sample(self) -> np.ndarray:
        self._keep(self.values[:0], self.priorities[:0], self.capacity)
        return self.values

    @property
    def exact(self) -> bool:
        """True when the sample is the whole stream."""
        return self.seen <= self.capacity


class DistinctCounter:
    """Exact distinct count until it passes `cap`; then a lower bound and no more work."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._seen: np.ndarray | None = np.empty(0, dtype=np.uint64)
        self.lower_bound = 0

    def add(self, chunk: Chunk) -> None:
        if self._seen is None or not chunk.count:
            return
        batch = pc.unique(chunk.present)  # a hash table in C, cheaper than sorting
        if len(batch) <= self.cap:
            keys = np.union1d(self._seen, value_keys(batch, chunk.kind))
        else:
            keys = None
        self.lower_bound = max(len(batch), len(self._seen), 0 if keys is None else len(keys))
        self._seen = keys if keys is not None and len(keys) <= self.cap else None

    def result(self) -> dict:
        out: dict = {"distinct": self.lower_bound}
        if self._seen is None:
            out["distinct_approx"] = True
        return out


class ColumnStats:
    def __init__(self, name: str, kind: str, arrow_type: pa.DataType, limits: Limits) -> None:
        self.name = name
        self.kind = kind
        self.arrow_type = arrow_type
        self.limits = limits
        self.count = 0
        self.missing = 0

    def update(self, chunk: Chunk) -> None:
        self.count += chunk.count
        self.missing += chunk.missing_count

    def result(self) -> dict:
        rows = self.count + self.missing
        return {
            "count": self.count,
            "missing": self.missing,
            "missing_fraction": self.missing / rows if rows else 0.0,
        }


class NumberStats(ColumnStats):
    """min, max, mean and the *sample* standard deviation (ddof=1, as pandas' describe) of the
    finite values; batches are merged with Chan et al.'s parallel update of (n, mean, M2), which
    stays accurate where a running sum of squares would cancel catastrophically. Infinities are
    counted in `count` and `infinite` but left out of every other number."""

    def __init__(self, name: str, kind: str, arrow_type: pa.DataType, limits: Limits) -> None:
        super().__init__(name, kind, arrow_type, limits)
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min: float | int | None = None
        self.max: float | int | None = None
        self.infinite = 0
        # Seeded by the name so the same file always gives the same sample.
        self.reservoir = Reservoir(limits.sample_size, seed=zlib.crc32(name.encode()))
        self.distinct = DistinctCounter(limits.max_tracked_categories)

    def update(self, chunk: Chunk) -> None:
        super().update(chunk)
        values = chunk.numbers
        if not len(values):
            return
        self.distinct.add(chunk)
        if self.kind == "float":
            finite = np.isfinite(values)
            if not finite.all():
                self.infinite += int(len(values) - finite.sum())
                values = values[finite]
                if not len(values):
                    return
        low, high = values.min(), values.max()
        self.min = low.item() if self.min is None else min(self.min, low.item())
        self.max = high.item() if self.max is None else max(self.max, high.item())
        floats = values.astype(np.float64, copy=False)
        n_b = len(floats)
        mean_b = float(floats.mean())
        m2_b = float(np.square(floats - mean_b).sum())
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * self.n * n_b / n
        self.n = n
        self.reservoir.add(floats)

    def result(self) -> dict:
        out = super().result() | self.distinct.result()
        out |= {
            "min": self.min,
            "max": self.max,
            "mean": self.mean if self.n else None,
            "std": float(np.sqrt(self.m2 / (self.n - 1))) if self.n > 1 else None,
            "quantiles": None,
            "histogram": None,
        }
        if self.infinite:
            out["infinite"] = self.infinite
        sample = self.reservoir.sample
        if len(sample):
            qs = np.quantile(sample, list(QUANTILES.values()))
            out["quantiles"] = dict(zip(QUANTILES, qs.tolist(), strict=True))
            out["histogram"] = self._histogram(sample)
            if not self.reservoir.exact:
                out["approx"] = True
        return jsonable(out)

    def _histogram(self, sample: np.ndarray) -> dict:
        bounds = (float(self.min), float(self.max))
        counts, edges = np.histogram(sample, bins=HISTOGRAM_BINS, range=bounds)
        if not self.reservoir.exact:
            counts = _scale_counts(counts, self.n)
        return {"edges": edges.tolist(), "counts": [int(c) for c in counts]}


def _scale_counts(counts: np.ndarray, total: int) -> np.ndarray:
    """Scale sample counts to `total`, rounding so the bins still add up to it exactly."""
    exact = counts * (total / counts.sum())
    scaled = np.floor(exact).astype(np.int64)
    short = total - int(scaled.sum())
    scaled[np.argsort(scaled - exact, kind="stable")[:short]] += 1
    return scaled


class CategoryStats(ColumnStats):
    """Exact value counts while a column has at most `max_tracked_categories` distinct values;
    past that the column is high-cardinality and only a lower bound on `distinct` is kept."""

    def __init__(self, name: str, kind: str, arrow_type: pa.DataType, limits: Limits) -> None:
        super().__init__(name, kind, arrow_type, limits)
        self.counts: dict | None = {}
        self.lower_bound = 0

    def update(self, chunk: Chunk) -> None:
        super().update(chunk)
        if self.counts is None or not chunk.count:
            return
        cap = self.limits.max_tracked_categories
        batch = pc.value_counts(chunk.present)
        if len(batch) <= cap:
            values = batch.field("values").to_pylist()
            for value, n in zip(values, batch.field("counts").to_pylist(), strict=True):
                self.counts[value] = self.counts.get(value, 0) + n
        if len(batch) > cap or len(self.counts) > cap:
            self.lower_bound = max(len(batch), len(self.counts))
            self.counts = None

    def result(self) -> dict:
        out = super().result()
        if self.counts is None:
            out |= {"distinct": self.lower_bound, "distinct_approx": True}
            out |= {"high_cardinality": True, "top": None}
            return jsonable(out)
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], str(item[0])))
        out["distinct"] = len(self.counts)
        out["top"] = [{"value": v, "count": n} for v, n in ranked[:TOP_N]]
        if self.kind == "boolean":
            out["true_count"] = self.counts.get(True, 0)
            out["false_count"] = self.counts.get(False, 0)
        return jsonable(out)


class DatetimeStats(ColumnStats):
    def __init__(self, name: str, kind: str, arrow_type: pa.DataType, limits: Limits) -> None:
        super().__init__(name, kind, arrow_type, limits)
        self.min: int | None = None
        self.max: int | None = None
        self.distinct = DistinctCounter(limits.max_tracked_categories)

    def update(self, chunk: Chunk) -> None:
        super().update(chunk)
        ticks = chunk.numbers
        if not len(ticks):
            return
        self.distinct.add(chunk)
        low, high = int(ticks.min()), int(ticks.max())
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)

    def result(self) -> dict:
        out = super().result() | self.distinct.result()
        out["min"] = None if self.min is None else ticks_to_iso(self.min, self.arrow_type)
        out["max"] = None if self.max is None else ticks_to_iso(self.max, self.arrow_type)
        return jsonable(out)


def make_stats(name: str, kind: str, arrow_type: pa.DataType, limits: Limits) -> ColumnStats:
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    cls = {
        "integer": NumberStats,
        "float": NumberStats,
        "string": CategoryStats,
        "boolean": CategoryStats,
        "datetime": DatetimeStats,
    }[kind]
    return cls(name, kind, arrow_type, limits)
