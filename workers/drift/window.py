"""Load a deployment's current window of served predictions into a DataFrame.

One `COPY (SELECT ...) TO STDOUT` streams the window as newline-delimited JSON (one object per
prediction: {"inputs": {...}, "prediction": ..., "label": ...}). Python only appends each
line's bytes to a chunk of a few MiB; pyarrow parses the chunks in C on worker threads while
the database is still sending, so parsing overlaps the query and the raw text is never held
whole. The chunks are typed as one parse of the whole text would type them (a key missing from
a chunk, whole numbers in one and fractions in another); chunks that disagree beyond that
(a key that is a number here and a string there) send the window through the old whole-text
parse, with pandas' object columns as the last resort. The frame's numbers are copied out of
Arrow (writable), and the parse buffers are handed back to the system before returning.

Free of Django: `conn` is a psycopg 3 connection (from Django:
`connection.ensure_connection(); conn = connection.connection`).
"""

from __future__ import annotations

import io
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.json as pa_json
from psycopg import sql

TABLE = "deployments_predictionlog"
PREDICTION = "prediction"
LABEL = "label"

# CSV format with a quote and a delimiter that jsonb's text output never contains (it escapes
# every control character as \uXXXX): each field is written raw, unlike the text format, which
# would double every backslash inside the JSON.
_COPY_OPTIONS = sql.SQL("(FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')")
# Big enough that pyarrow's per-call overhead vanishes, small enough that the chunks in flight
# (parsing plus queued) stay a small part of the frame they become.
CHUNK_BYTES = 16 << 20
PARSE_THREADS = 2
# Rebuilding a jsonb object in the database costs about five times more per key than printing
# a stored one, so asking for a subset only pays when it is a small part of the stored keys.
PROJECTION_SHARE = 0.2


def window_query(
    *,
    deployment_id: int,
    since: datetime | None = None,
    last_n: int | None = None,
    columns: list[str] | None = None,
) -> sql.Composed:
    """The COPY statement for a window; values are client-side literals (COPY takes no params).

    With `columns`, only those input keys leave the database (a key missing from a row is
    null)."""
    if since is not None and since.tzinfo is None:
        # A naive time would be read in the session's time zone: refuse rather than guess.
        raise ValueError("since must be timezone-aware")
    if last_n is not None and last_n < 0:
        raise ValueError("last_n must be >= 0")
    if columns is None:
        inputs = sql.SQL("inputs")
    else:
        pairs = [
            sql.SQL("{}, inputs -> {}").format(sql.Literal(c), sql.Literal(c)) for c in columns
        ]
        inputs = sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs))
    limit = sql.SQL("")
    if last_n is not None:
        limit = sql.SQL(" LIMIT {}").format(sql.Literal(int(last_n)))
    # The line is concatenated text rather than a jsonb object built per row: printing the
    # stored jsonb is the database's whole cost, building another one would triple it.
    select = sql.SQL(
        "SELECT '{{\"inputs\":' || {inputs}::text || ',\"prediction\":'"
        " || coalesce(output::text, 'null') || ',\"label\":' || coalesce(label::text, 'null')"
        " || '}}' FROM {table} WHERE {where} ORDER BY created_at DESC, id DESC{limit}"
    ).format(
        inputs=inputs, table=sql.Identifier(TABLE), where=_where(deployment_id, since), limit=limit
    )
    return sql.SQL("COPY ({}) TO STDOUT WITH {}").format(select, _COPY_OPTIONS)


def _where(deployment_id: int, since: datetime | None) -> sql.Composable:
    where = [
        sql.SQL("deployment_id = {}").format(sql.Literal(int(deployment_id))),
        sql.SQL("NOT shadow"),
        sql.SQL("error = ''"),
    ]
    if since is not None:
        where.append(sql.SQL("created_at >= {}").format(sql.Literal(since)))
    return sql.SQL(" AND ").join(where)


def load_window(
    conn: psycopg.Connection,
    *,
    deployment_id: int,
    since: datetime | None = None,
    last_n: int | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """The deployment's served predictions (not shadow copies, not errors), newest first.

    One column per input key (in jsonb's key order: shorter keys first; or the order of
    `columns` when given), plus `prediction` (the output) and
    `label` (the ground truth from feedback, null where none came). Numeric inputs are numeric
    columns. An empty window is an empty frame with the requested columns."""
    project = columns is not None and _projection_pays(conn, deployment_id, columns)
    query = window_query(
        deployment_id=deployment_id,
        since=since,
        last_n=last_n,
        columns=columns if project else None,
    )
    with conn.cursor() as cursor, cursor.copy(query) as copy:
        chunks = _parse_stream(copy, columns)
    if chunks == []:
        return pd.DataFrame(columns=[*(columns or []), PREDICTION, LABEL])
    table = _combine(chunks) if chunks is not None else None
    del chunks
    if table is None:
        # A chunk that did not parse, or chunks that disagree on a column's type: the window
        # is read again and parsed whole, the slow way. Rare (free-form clients), and it keeps
        # the fast path simple.
        frame = _read_whole(conn, query, columns)
    else:
        # Each column's Arrow buffers are freed once converted, and the allocator hands the
        # freed parse buffers back: else the drift run that follows would start with hundreds
        # of MiB held for nothing.
        frame = table.to_pandas(self_destruct=True)
        del table
        pa.default_memory_pool().release_unused()
    expected = [*columns, PREDICTION, LABEL] if columns is not None else None
    if expected is not None and list(frame.columns) != expected:
        frame = frame.reindex(columns=expected)
    return frame


def _projection_pays(conn: psycopg.Connection, deployment_id: int, columns: list[str]) -> bool:
    """Whether the newest row has so many more keys than asked for that projecting pays."""
    row = conn.execute(
        sql.SQL(
            "SELECT (SELECT count(*) FROM jsonb_object_keys(inputs)) FROM {} WHERE {}"
            " AND jsonb_typeof(inputs) = 'object' ORDER BY created_at DESC LIMIT 1"
        ).format(sql.Identifier(TABLE), _where(deployment_id, None))
    ).fetchone()
    return row is not None and len(set(columns)) < PROJECTION_SHARE * row[0]


Chunk = tuple[pa.Table, pa.Table]  # (inputs as columns, output and label)


def _parse_stream(copy: psycopg.Copy, columns: list[str] | None) -> list[Chunk] | None:
    """The parsed chunks of lines, in order; None when a chunk does not parse (the stream is
    still read to its end, so the connection stays usable for the fallback)."""
    pending: deque[Future[Chunk]] = deque()
    done: list[Chunk] = []
    failed = False
    with ThreadPoolExecutor(PARSE_THREADS, thread_name_prefix="drift-window") as pool:
        buffer = bytearray()
        for block in copy:
            buffer += block
            # Every COPY message is one whole line; the check keeps a chunk from ending mid-line
            # should that ever change.
            if len(buffer) >= CHUNK_BYTES and buffer.endswith(b"\n") and not failed:
                pending.append(pool.submit(_parse_chunk, buffer, columns))
                buffer = bytearray()
                # Bound the raw chunks in flight: results are collected as they come.
                while len(pending) > PARSE_THREADS or (pending and pending[0].done()):
                    failed = _collect(pending.popleft(), done) or failed
            elif failed:
                buffer.clear()
        if buffer and not failed:
            pending.append(pool.submit(_parse_chunk, buffer, columns))
        while pending:
            failed = _collect(pending.popleft(), done) or failed
    return None if failed else done


def _collect(future: Future[Chunk], done: list[Chunk]) -> bool:
    """Append the chunk's tables; True when it did not parse."""
    try:
        done.append(future.result())
    except pa.ArrowInvalid:
        return True
    return False


def _parse_chunk(data: bytearray, columns: list[str] | None) -> Chunk:
    # One block per chunk: the chunk is already the unit of parallelism, and a block must hold
    # whole lines, however long one is.
    options = pa_json.ReadOptions(use_threads=False, block_size=max(len(data), 1 << 20))
    table = pa_json.read_json(pa.BufferReader(pa.py_buffer(data)), read_options=options)
    return _split(table, columns)


def _split(table: pa.Table, columns: list[str] | None) -> Chunk:
    """The inputs struct as columns (the requested ones, in their order), and the output and
    the label."""
    inputs = table.column("inputs")
    fields: dict[str, pa.ChunkedArray] = {}
    if pa.types.is_struct(inputs.type):
        for index in range(inputs.type.num_fields):
            field = inputs.type.field(index)
            fields[field.name] = pa.chunked_array(
                [chunk.field(index) for chunk in inputs.chunks], type=field.type
            )
    if columns is not None:
        fields = {name: fields.get(name, pa.nulls(len(table))) for name in columns}
    reserved = {
        name: table.column(name) if name in table.column_names else pa.nulls(len(table))
        for name in (PREDICTION, LABEL)
    }
    return pa.table(fields), pa.table(reserved)


def _join(inputs: pa.Table, reserved: pa.Table) -> pa.Table:
    fields = dict(zip(inputs.column_names, inputs.columns, strict=True))
    # A key named like a reserved column would be shadowed; the reserved ones win, as documented.
    fields.update(zip(reserved.column_names, reserved.columns, strict=True))
    return pa.table(fields)


def _combine(chunks: list[Chunk]) -> pa.Table | None:
    """The chunks as one table, typed as the whole-text reader would have typed it; None when
    they disagree beyond what it reconciles."""
    lengths = [len(reserved) for _, reserved in chunks]
    inputs = _concat([inputs for inputs, _ in chunks], lengths)
    reserved = _concat([reserved for _, reserved in chunks], lengths)
    if inputs is None or reserved is None:
        return None
    return _join(inputs, reserved)


def _concat(tables: list[pa.Table], lengths: list[int]) -> pa.Table | None:
    """Tables with the same meaning of columns stacked: a column gets the type the whole-text
    reader would have inferred (null gives way to any type, integers to floats; a column absent
    from a chunk is null there); None on any other disagreement. `lengths` are the row counts
    (a table without columns has none)."""
    names: dict[str, None] = {}
    for table in tables:
        names.update(dict.fromkeys(table.column_names))
    columns = {}
    for name in names:
        types = {t.column(name).type for t in tables if name in t.column_names} - {pa.null()}
        if types == {pa.int64(), pa.float64()}:
            types = {pa.float64()}
        if len(types) > 1:
            return None
        target = types.pop() if types else pa.null()
        pieces = []
        for table, length in zip(tables, lengths, strict=True):
            if name not in table.column_names:
                pieces.append(pa.nulls(length, target))
                continue
            column = table.column(name)
            pieces.extend((column if column.type == target else column.cast(target)).chunks)
        columns[name] = pa.chunked_array(pieces, type=target)
    return pa.table(columns)


def _read_whole(conn: psycopg.Connection, query: sql.Composed, columns: list[str] | None):
    """The window parsed as one text: pyarrow unifies types across the whole of it, and when
    even that fails (a key that is a number in one row and a string in another) pandas keeps
    objects."""
    buffer = io.BytesIO()
    with conn.cursor() as cursor, cursor.copy(query) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    try:
        return _join(*_split(pa_json.read_json(buffer), columns)).to_pandas()
    except pa.ArrowInvalid:
        buffer.seek(0)
        return _from_pandas(pd.read_json(buffer, lines=True, dtype=False), columns)


def _from_pandas(raw: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    inputs = pd.json_normalize(raw["inputs"].tolist(), max_level=0)
    inputs = inputs.drop(columns=[c for c in (PREDICTION, LABEL) if c in inputs.columns])
    if columns is not None:
        inputs = inputs.reindex(columns=columns)
    inputs[PREDICTION] = raw[PREDICTION] if PREDICTION in raw.columns else None
    inputs[LABEL] = raw[LABEL] if LABEL in raw.columns else None
    # Columns that parsed as objects but hold only numbers become numeric again.
    for name in inputs.columns:
        if inputs[name].dtype == object:
            converted = pd.to_numeric(inputs[name], errors="coerce")
            if converted.notna().sum() == inputs[name].notna().sum():
                inputs[name] = converted
    return inputs
