"""Validation rules, evaluated in the same streaming pass as the statistics.

A rule is `{"kind", "column", "params"}`. Value rules (min, max, allowed_values, unique) look at
present values only; missing values are the business of not_null and max_missing_fraction. A
rule that cannot be evaluated (unknown kind, bad params, a column that does not exist, a column
of the wrong type) fails with a message saying why instead of stopping the whole run.
"""

from __future__ import annotations

import datetime as dt
import numbers
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from workers.datasets.column import Chunk, KeySet, count_true, jsonable, split_repeats

LOGICAL_TYPES = ("integer", "float", "boolean", "string", "datetime")
SAMPLE = 5


class Rule:
    """Base: the result shape, and the failure for rules that cannot be evaluated."""

    needs_column = True

    def __init__(self, spec: dict, columns: dict[str, tuple[str, pa.DataType]]) -> None:
        self.kind = spec.get("kind")
        self.column = spec.get("column")
        self.params = spec.get("params") or {}
        self.failed = 0
        self.sample: list = []
        self.problem: str | None = None
        if not isinstance(self.params, dict):
            self.problem = f"The params of a {self.kind} rule must be an object."
            return
        if self.needs_column:
            if not isinstance(self.column, str) or self.column not in columns:
                shown = ", ".join(repr(c) for c in list(columns)[:20])
                more = ", ..." if len(columns) > 20 else ""
                self.problem = (
                    f"Column {self.column!r} does not exist in this version "
                    f"(columns: {shown}{more})."
                )
                return
            self.logical, self.arrow_type = columns[self.column]
        try:
            self.setup(columns)
        except RuleProblem as exc:
            self.problem = str(exc)
        except (pa.ArrowException, ArithmeticError, TypeError, ValueError) as exc:
            self.problem = f"The params of this {self.kind} rule cannot be used: {exc}"

    def setup(self, columns: dict[str, tuple[str, pa.DataType]]) -> None:
        """Check params against the file's columns; raise RuleProblem to fail the rule."""

    def update(self, chunk: Chunk) -> None:
        """Look at one batch of the rule's column."""

    def feed(self, chunk: Chunk) -> None:
        """update(), but a rule pyarrow cannot evaluate (say, comparing uint64 values with a
        negative bound) fails on its own instead of failing the whole version."""
        if self.problem is not None:
            return
        try:
            self.update(chunk)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            self.problem = f"This rule could not be evaluated on {self.column!r}: {exc}"

    def verdict(self, row_count: int, profile: dict) -> str:
        """Return the message; set self.failed (and self.sample) on failure."""
        raise NotImplementedError

    def result(self, row_count: int, profile: dict) -> dict:
        message = self.problem or self.verdict(row_count, profile)
        return jsonable(
            {
                "kind": self.kind,
                "column": self.column,
                "params": self.params,
                "passed": self.problem is None and self.failed == 0,
                "failed_count": self.failed,
                "sample": self.sample[:SAMPLE],
                "message": message,
            }
        )

    def _collect(self, values: pa.Array, *, distinct: bool = False) -> None:
        if len(self.sample) >= SAMPLE:
            return
        for value in values.slice(0, SAMPLE * 4).to_pylist():
            if len(self.sample) < SAMPLE and not (distinct and value in self.sample):
                self.sample.append(value)


class RuleProblem(Exception):
    pass


class RequiredColumns(Rule):
    needs_column = False

    def setup(self, columns: dict[str, tuple[str, pa.DataType]]) -> None:
        wanted = self.params.get("columns")
        if not isinstance(wanted, list) or not all(isinstance(c, str) for c in wanted):
            raise RuleProblem('required_columns needs params {"columns": [names]}.')
        self.sample = [c for c in wanted if c not in columns]
        self.failed = len(self.sample)

    def verdict(self, row_count: int, profile: dict) -> str:
        if self.failed:
            return f"Missing required columns: {', '.join(map(repr, self.sample))}."
        return "All required columns are present."


class ColumnType(Rule):
    """Integer columns satisfy a "float" rule: every integer is a valid float."""

    def setup(self, columns: dict[str, tuple[str, pa.DataType]]) -> None:
        self.expected = self.params.get("type")
        if self.expected not in LOGICAL_TYPES:
            raise RuleProblem(f"column_type needs params {{'type': one of {LOGICAL_TYPES}}}.")
        self.ok = self.logical == self.expected or (self.expected, self.logical) == (
            "float",
            "integer",
        )

    def update(self, chunk: Chunk) -> None:
        if not self.ok:
            self.failed += chunk.count
            self._collect(chunk.present)

    def verdict(self, row_count: int, profile: dict) -> str:
        if self.ok:
            return f"Column {self.column!r} is {self.logical}."
        return f"Column {self.column!r} is {self.logical}, not {self.expected}."


class NotNull(Rule):
    def update(self, chunk: Chunk) -> None:
        self.sample += chunk.missing_rows(SAMPLE - len(self.sample))
        self.failed += chunk.missing_count

    def verdict(self, row_count: int, profile: dict) -> str:
        if self.failed:
            return (
                f"{self.column!r} is missing in {self.failed} of {_n(row_count, 'row')} "
                f"(first in rows {', '.join(map(str, self.sample))})."
            )
        return f"Every row has a value in {self.column!r}."


class MaxMissingFraction(NotNull):
    def setup(self, columns: dict[str, tuple[str, pa.DataType]]) -> None:
        self.limit = _number(self.params.get("value"), "max_missing_fraction")
        if not 0 <= self.limit <= 1:
            raise RuleProblem("max_missing_fraction needs a value between 0 and 1.")

    def verdict(self, row_count: int, profile: dict) -> str:
        fraction = self.failed / row_count if row_count else 0.0
        if fraction <= self.limit:
            self.failed, self.sample = 0, []
            return f"{fraction:.2%} of {self.column!r} is missing (limit {self.limit:.2%})."
        return (
            f"{fraction:.2%} of {self.column!r} is missing ({self.failed} of "
            f"{_n(row_count, 'row')}), "
            f"more than the limit of {self.limit:.2%}."
        )


class Bound(Rule):
    """min / max: present values below (above) params.value fail."""

    def setup(self, columns: dict[str, tuple[str, pa.DataType]]) -> None:
        raw = self.params.get("value")
        if self.logical in ("integer", "float"):
            self.bound = pa.scalar(_number(raw, self.kind))
        elif self.logical == "datetime":
            self.bound = _datetime_scalar(raw, self.arrow_type, self.kind)
        else:
            raise RuleProblem(
                f"{self.kind} applies to integer, float or datetime columns; "
                f"{self.column!r} is {self.logical}."
            )
        self.compare = pc.less if self.kind == "min" else pc.greater

    def update(self, chunk: Chunk) -> None:
        if not chunk.count:
            return
        bad = self.compare(chunk.present, self.bound)
        n = count_true(bad)
        if n:
            self.failed += n
            self._collect(chunk.present.filter(bad))

    def verdict(self, row_count: int, profile: dict) -> str:
        bound = jsonable(self.bound.as_py())
        word = "below the minimum" if self.kind == "min" else "above the maximum"
        if self.failed:
            return f"{self.column!r} has {_n(self.failed, 'value')} {word} {bound}."
        return f"No value of {self.column!r} is {word} {bound}."


class AllowedValues(Rule):
    def setup(self, columns: dict[str, tuple[str, pa.DataType]]) -> None:
        allowed = self.params.get("values")
        if not isinstance(allowed, list) or not allowed:
            raise RuleProblem('allowed_values needs params {"values": [one or more values]}.')
        self.allowed = allowed
        self.value_set: pa.Array | None = None

    def update(self, chunk: Chunk) -> None:
        if not chunk.count:
            return
        if self.value_set is None:
            self.value_set = _value_set(self.allowed, chunk.present.type)
        bad = pc.invert(pc.is_in(chunk.present, value_set=self.value_set))
        n = count_true(bad)
        if n:
            self.failed += n
            self._collect(chunk.present.filter(bad), distinct=True)

    def verdict(self, row_count: int, profile: dict) -> str:
        if self.failed:
            shown = ", ".join(repr(jsonable(v)) for v in self.sample)
            return (
                f"{self.column!r} has {_n(self.failed, 'value')} outside the allowed values "
                f"(e.g. {shown})."
            )
        return f"Every value of {self.column!r} is an allowed value."


class Unique(Rule):
    """Counts rows whose value already occurred in an earlier row. String values are compared
    by 64-bit hash (see Chunk.keys); every other type exactly."""

    def setup(self, columns: dict[str, tuple[str, pa.DataType]]) -> None:
        self.seen = KeySet()

    def update(self, chunk: Chunk) -> None:
        if not chunk.count:
            return
        repeat, new = split_repeats(chunk.keys, self.seen)
        self.seen.add_new(new)
        if repeat is not None:
            n = int(repeat.sum())
            self.failed += n
            self._collect(chunk.present.filter(pa.array(repeat)), distinct=True)

    def verdict(self, row_count: int, profile: dict) -> str:
        if self.failed:
            shown = ", ".join(repr(jsonable(v)) for v in self.sample)
            return (
                f"{self.column!r} repeats a value of an earlier row in "
                f"{_n(self.failed, 'row')} (e.g. {shown})."
            )
        return f"Every value of {self.column!r} is unique."


class RowCountRange(Rule):
    needs_column = False

    def setup(self, columns: dict[str, tuple[str, pa.DataType]]) -> None:
        self.low = self.params.get("min")
        self.high = self.params.get("max")
        for value in (self.low, self.high):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise RuleProblem(
                    'row_count_range needs params {"min": int or null, "max": int or null}.'
                )

    def verdict(self, row_count: int, profile: dict) -> str:
        if self.low is not None and row_count < self.low:
            self.failed, self.sample = self.low - row_count, [row_count]
            return f"The file has {_n(row_count, 'row')}, fewer than the minimum of {self.low}."
        if self.high is not None and row_count > self.high:
            self.failed, self.sample = row_count - self.high, [row_count]
            return f"The file has {_n(row_count, 'row')}, more than the maximum of {self.high}."
        return f"The file has {_n(row_count, 'row')}, within the allowed range."


class UnknownRule(Rule):
    needs_column = False

    def setup(self, columns: dict[str, tuple[str, pa.DataType]]) -> None:
        raise RuleProblem(f"Unknown rule kind {self.kind!r}; known: {', '.join(RULE_KINDS)}.")


RULE_KINDS: dict[str, type[Rule]] = {
    "required_columns": RequiredColumns,
    "column_type": ColumnType,
    "not_null": NotNull,
    "min": Bound,
    "max": Bound,
    "allowed_values": AllowedValues,
    "unique": Unique,
    "max_missing_fraction": MaxMissingFraction,
    "row_count_range": RowCountRange,
}


def build_rules(specs: list[dict], columns: dict[str, tuple[str, pa.DataType]]) -> list[Rule]:
    """`columns` maps each column name to (logical type, Arrow type)."""
    rules = []
    for spec in specs:
        if not isinstance(spec, dict):
            spec = {"kind": repr(spec)}  # shown as an unknown kind
        rules.append(RULE_KINDS.get(spec.get("kind"), UnknownRule)(spec, columns))
    return rules


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _number(value: Any, kind: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RuleProblem(f'{kind} needs a number in params {{"value": ...}}, got {value!r}.')
    return value


def _datetime_scalar(value: Any, arrow_type: pa.DataType, kind: str) -> pa.Scalar:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise RuleProblem(f"{kind} on a datetime column needs an ISO date, got {value!r}.") from exc
    if pa.types.is_date(arrow_type):
        return pa.scalar(parsed.date(), type=arrow_type)
    if parsed.tzinfo is None and arrow_type.tz is not None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return pa.scalar(parsed, type=arrow_type)


def _value_set(values: list, arrow_type: pa.DataType) -> pa.Array:
    """The allowed values that can be of the column's type; "1" matches an integer 1 (forms send
    text), values that cannot be of that type at all are dropped (they can never match)."""
    kept = []
    for value in values:
        for candidate in (value, str(value)):
            try:
                kept.append(pa.array([candidate]).cast(arrow_type)[0].as_py())
                break
            except (pa.ArrowException, TypeError, ValueError):
                continue
    return pa.array(kept, type=arrow_type)
