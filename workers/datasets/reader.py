"""Opening a dataset file as a stream of record batches, turning pyarrow's errors into messages
a person can act on.

CSV types are inferred by pyarrow from the first block. When a later block disagrees, the stream
raises `Retype` for the cases we can fix by reading again with the column's type forced (an
integer column that turns out to hold decimals becomes float64; a column that was empty in the
first block gets a type from its first value), and DatasetError for everything else.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pv

from workers.datasets.errors import DatasetError, Limits
from workers.datasets.paced import PacedFile
from workers.datasets.sniff import check_utf8_head

READ_AHEAD_BLOCKS = 2  # see PacedFile

_CONVERSION = re.compile(
    r"In CSV column #(?P<col>\d+): (?:Row #\d+: )?CSV conversion error to (?P<to>.+?): "
    r"invalid value '(?P<value>.*)'",
    re.DOTALL,
)
_INT_TEXT = re.compile(r"\s*[+-]?\d+\s*")
_BOOL_TEXT = {"true", "false", "True", "False", "TRUE", "FALSE"}


class Retype(Exception):
    """Read the file again with `column` forced to `arrow_type`; `guessed` when that type was
    inferred from a single value and may still turn out wrong."""

    def __init__(self, column: str, arrow_type: pa.DataType, *, guessed: bool = False) -> None:
        super().__init__(column, arrow_type)
        self.column = column
        self.arrow_type = arrow_type
        self.guessed = guessed


def logical_type(arrow_type: pa.DataType) -> str | None:
    """The portal's type for an Arrow type, or None when the portal cannot profile it."""
    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_null(t):
        return "string"  # an all-empty column: nothing says otherwise
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "datetime"
    return None


class BatchStream:
    """Record batches of one file; `schema` is known once the stream is open."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        limits: Limits,
        forced: dict[str, pa.DataType] | None = None,
        guessed: frozenset[str] = frozenset(),
    ) -> None:
        self.path = path
        self.limits = limits
        self.forced = forced or {}
        self.guessed = guessed
        self.rows_read = 0
        self.fmt = fmt
        if fmt == "csv":
            check_utf8_head(path)
            self._reader = self._open_csv()
        elif fmt == "parquet":
            self._reader = self._open_parquet()
        else:
            raise DatasetError(f"Unknown format {fmt!r}; expected 'csv' or 'parquet'.")
        try:
            self._check_schema()
        except DatasetError:
            self.__exit__()
            raise

    # -- opening ---------------------------------------------------------------------------

    def _open_csv(self) -> pv.CSVStreamingReader:
        self._bad_row: pv.InvalidRow | None = None

        def on_invalid_row(row: pv.InvalidRow) -> str:
            self._bad_row = row
            return "error"

        self._paced = PacedFile(self.path, ahead=READ_AHEAD_BLOCKS)
        self._csv_batches = 0
        try:
            return pv.open_csv(
                self._paced,
                read_options=pv.ReadOptions(block_size=self.limits.block_size, use_threads=True),
                parse_options=pv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=on_invalid_row
                ),
                # An empty cell is missing in every column, text columns included.
                convert_options=pv.ConvertOptions(
                    column_types=self.forced, strings_can_be_null=True
                ),
            )
        except pa.ArrowException as exc:
            self._paced.close()
            raise self._csv_error(exc) from exc

    def _open_parquet(self) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq  # only here: it costs CSV-only workers ~6 MB

        try:
            pf = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as exc:
            raise DatasetError(
                f"The Parquet file is corrupt or truncated and cannot be read ({exc})."
            ) from exc
        meta = pf.metadata
        row_bytes = 1
        if meta.num_rows and meta.num_row_groups:
            size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            row_bytes = max(1, size // meta.num_rows)
        self._parquet_schema = pf.schema_arrow
        self._parquet_file = pf
        batch_rows = max(1024, self.limits.block_size // row_bytes)
        return pf.iter_batches(batch_size=batch_rows, use_threads=True)

    def __enter__(self) -> BatchStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.fmt == "parquet":
            self._parquet_file.close()
        else:
            self._paced.close()  # first: it frees a reader thread that waits for its turn
            self._reader.close()

    @property
    def schema(self) -> pa.Schema:
        return self._parquet_schema if self.fmt == "parquet" else self._reader.schema

    def _check_schema(self) -> None:
        names = self.schema.names
        if len(names) > self.limits.max_columns:
            raise DatasetError(
                f"The file has {len(names)} columns; the portal accepts at most "
                f"{self.limits.max_columns}."
            )
        for position, name in enumerate(names, start=1):
            if not name.strip():
                raise DatasetError(
                    f"Column {position} has an empty name; every column needs a header."
                )
        duplicates = [name for name, n in Counter(names).items() if n > 1]
        if duplicates:
            name = duplicates[0]
            where = [str(i) for i, n in enumerate(names, start=1) if n == name]
            raise DatasetError(
                f"Column names must be unique: {name!r} is the header of columns "
                f"{', '.join(where)}."
            )
        for field in self.schema:
            if self.fmt == "csv" and pa.types.is_binary(field.type):
                raise DatasetError(
                    f"Column {field.name!r} contains text that is not UTF-8. Save the file "
                    'as UTF-8 (in Excel: "CSV UTF-8") and upload it again.'
                )
            if logical_type(field.type) is None:
                raise DatasetError(
                    f"Column {field.name!r} has type {field.type}, which the portal cannot "
                    "profile; store it as numbers, text, booleans or timestamps."
                )

    # -- reading ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while (batch := self._next_batch()) is not None:
            self.rows_read += batch.num_rows
            yield batch
            # Drop it before reading the next one, or two batches coexist at the peak; then
            # hand its memory back to the OS: the pool would keep it, and the peak would be
            # the sum of every phase's peak.
            del batch
            pa.default_memory_pool().release_unused()

    def _next_batch(self) -> pa.RecordBatch | None:
        try:
            return next(self._reader) if self.fmt == "parquet" else self._next_csv()
        except StopIteration:
            return None
        except pa.ArrowException as exc:
            if self.fmt == "parquet":
                raise DatasetError(
                    f"The Parquet file is corrupt and could not be read past row "
                    f"{self.rows_read} ({exc})."
                ) from exc
            raise  # CSV errors were translated in _next_csv

    def _next_csv(self) -> pa.RecordBatch:
        if self._csv_batches:
            self._paced.batch_consumed()  # the caller is done with the previous batch
        self._csv_batches += 1
        try:
            return self._reader.read_next_batch()
        except pa.ArrowException as exc:
            raise self._csv_error(exc) from exc

    def _csv_error(self, exc: pa.ArrowException) -> Exception:
        detail = str(exc)
        if "Empty CSV file" in detail:
            return DatasetError("The file has no header row and no data (only blank lines).")
        if "CSV parse error" in detail and "Expected" in detail:
            return DatasetError(self._ragged_message(detail))
        match = _CONVERSION.search(detail)
        if match:
            return self._conversion_error(match, detail)
        if "invalid UTF8" in detail:
            return DatasetError(
                f"The file contains text that is not UTF-8 after data row {self.rows_read}. "
                'Save it as UTF-8 (in Excel: "CSV UTF-8") and upload it again.'
            )
        return DatasetError(
            f"The CSV file could not be read after data row {self.rows_read}: {detail}"
        )

    def _ragged_message(self, detail: str) -> str:
        row = self._bad_row
        if row is not None and row.number is None:
            # Parallel parsing does not know row numbers; a serial pass over the text does.
            row = _find_ragged_row(self.path, self.limits) or row
        if row is None:
            return f"A row has a different number of fields than the header ({detail})."
        text = row.text if len(row.text) <= 80 else row.text[:77] + "..."
        fields = f"{row.actual_columns} field{'s' if row.actual_columns != 1 else ''}"
        if row.number is None:
            return f"A row has {fields}; the header has {row.expected_columns}: {text!r}"
        # pyarrow counts the header as row 1; rules and messages count data rows from 1.
        return (
            f"Row {row.number - 1} has {fields}; the header has {row.expected_columns} "
            f"(rows counted from 1 after the header): {text!r}"
        )

    def _conversion_error(self, match: re.Match[str], detail: str) -> Exception:
        field = self.schema.field(int(match["col"]))
        value = match["value"]
        current = field.type
        if pa.types.is_integer(current) and _parses_as_float(value):
            return Retype(field.name, pa.float64())
        if pa.types.is_date(current) and _parses_as_datetime(value):
            return Retype(field.name, pa.timestamp("us"))  # dates, then dates with times
        if pa.types.is_null(current):
            return Retype(field.name, _type_of_text(value), guessed=True)
        if field.name in self.guessed and not pa.types.is_string(current):
            # The guess from one value was wrong; text holds anything.
            return Retype(field.name, pa.string(), guessed=True)
        shown = value if len(value) <= 60 else value[:57] + "..."
        return DatasetError(
            f"Column {field.name!r} changes type partway through the file: it was read as "
            f"{logical_type(current)} ({current}), but somewhere after data row "
            f"{self.rows_read} it holds {shown!r}. Fix that value or make the column "
            f"consistent. (pyarrow: {detail})"
        )


def _parses_as_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parses_as_datetime(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def _type_of_text(text: str) -> pa.DataType:
    if _INT_TEXT.fullmatch(text):
        return pa.int64()
    if _parses_as_float(text):
        return pa.float64()
    if text.strip() in _BOOL_TEXT:
        return pa.bool_()
    return pa.string()


def _find_ragged_row(path: Path, limits: Limits) -> pv.InvalidRow | None:
    found: list[pv.InvalidRow] = []

    def on_invalid_row(row: pv.InvalidRow) -> str:
        found.append(row)
        return "error"

    serial = pv.ReadOptions(block_size=limits.block_size, use_threads=False)
    parse = pv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid_row)
    try:
        # The first open finds a bad row in the first block; then read everything as bytes so
        # no conversion error stops the scan before the bad row.
        with PacedFile(path, READ_AHEAD_BLOCKS) as paced:
            names = pv.open_csv(paced, read_options=serial, parse_options=parse).schema.names
        as_bytes = pv.ConvertOptions(column_types=dict.fromkeys(names, pa.binary()))
        with PacedFile(path, READ_AHEAD_BLOCKS) as paced:
            reader = pv.open_csv(
                paced, read_options=serial, parse_options=parse, convert_options=as_bytes
            )
            for _ in reader:
                paced.batch_consumed()
    except pa.ArrowInvalid:
        pass
    return found[0] if found else None
