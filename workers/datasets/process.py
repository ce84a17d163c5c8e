"""process_file: one streaming pass that yields schema, profile and validation results."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from workers.datasets.column import Chunk
from workers.datasets.errors import DatasetError, Limits
from workers.datasets.reader import BatchStream, Retype, logical_type
from workers.datasets.rules import Rule, build_rules
from workers.datasets.sniff import detect_format
from workers.datasets.stats import ColumnStats, make_stats


def process_file(
    path: Path,
    rules: list[dict],
    *,
    fmt: str | None = None,
    limits: Limits = Limits(),  # noqa: B008 - never mutated; the signature is a shared contract
) -> dict:
    """Returns {"format", "row_count", "column_count", "schema", "profile", "validation",
    "validation_passed"}; raises DatasetError for a file the portal refuses.

    The file is read once, in blocks, unless a CSV column's inferred type turns out wrong in a
    later block (an integer column holding 2.5): then the read starts over with that column's
    type forced, at most a few times per column.
    """
    path = Path(path)
    detected = detect_format(path)  # also refuses empty and binary files
    if fmt is not None and fmt != detected:
        raise DatasetError(
            f"The file was declared as {fmt}, but its content is {detected}: "
            f"upload it with the right extension."
        )
    fmt = detected
    forced: dict[str, pa.DataType] = {}
    guessed: set[str] = set()
    # Each restart moves one column up null -> guess -> float64 -> string, so this ends.
    for _ in range(3 * limits.max_columns + 1):
        try:
            return _one_pass(path, rules, fmt, limits, forced, frozenset(guessed))
        except Retype as retype:
            forced[retype.column] = retype.arrow_type
            if retype.guessed:
                guessed.add(retype.column)
    raise DatasetError("The column types of this file keep changing; it cannot be read.")


def _one_pass(
    path: Path,
    specs: list[dict],
    fmt: str,
    limits: Limits,
    forced: dict[str, pa.DataType],
    guessed: frozenset[str],
) -> dict:
    with BatchStream(path, fmt, limits, forced, guessed) as stream:
        fields = list(stream.schema)
        kinds = [logical_type(field.type) or "string" for field in fields]
        columns = {f.name: (kind, f.type) for f, kind in zip(fields, kinds, strict=True)}
        rules = build_rules(specs, columns)
        work = [
            _ColumnWork(i, kind, make_stats(f.name, kind, f.type, limits), rules)
            for i, (f, kind) in enumerate(zip(fields, kinds, strict=True))
        ]
        rows = 0
        for batch in stream:
            # Column by column in this thread: profiling columns in a thread pool was no
            # faster here (the reader's threads already use the cores) and used more memory.
            for column in work:
                column.update(batch, rows)
            rows += batch.num_rows
            del batch  # see BatchStream.__iter__
    if rows == 0:
        raise DatasetError("The file has column names (a header) but no data rows.")
    profile = {column.stats.name: column.stats.result() for column in work}
    schema = [
        {"name": f.name, "type": kind, "nullable": profile[f.name]["missing"] > 0}
        for f, kind in zip(fields, kinds, strict=True)
    ]
    validation = [rule.result(rows, profile) for rule in rules]
    return {
        "format": fmt,
        "row_count": rows,
        "column_count": len(fields),
        "schema": schema,
        "profile": profile,
        "validation": validation,
        "validation_passed": all(r["passed"] for r in validation),
    }


class _ColumnWork:
    """A column's statistics and the rules about it."""

    def __init__(self, index: int, kind: str, stats: ColumnStats, rules: list[Rule]) -> None:
        self.index = index
        self.kind = kind
        self.stats = stats
        self.rules = [r for r in rules if r.problem is None and r.column == stats.name]

    def update(self, batch: pa.RecordBatch, offset: int) -> None:
        chunk = Chunk(batch.column(self.index), self.kind, offset)
        self.stats.update(chunk)
        for rule in self.rules:
            rule.feed(chunk)
