"""Load a deployment's current window of served predictions into a DataFrame.

One `COPY (SELECT ...) TO STDOUT` streams the window as newline-delimited JSON (one object per
prediction: {"inputs": {...}, "prediction": ..., "label": ...}); pyarrow parses it in C and the
inputs struct is flattened into columns. No Python object is made per row, so a window of a
million predictions costs one query and one vectorised parse.

Free of Django: `conn` is a psycopg 3 connection (from Django:
`connection.ensure_connection(); conn = connection.connection`).
"""

from __future__ import annotations

import io
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


def window_query(
    *,
    deployment_id: int,
    since: datetime | None = None,
    last_n: int | None = None,
    columns: list[str] | None = None,
) -> sql.Composed:
    """The COPY statement for a window; values are client-side literals (COPY takes no params)."""
    if since is not None and since.tzinfo is None:
        # A naive time would be read in the session's time zone: refuse rather than guess.
        raise ValueError("since must be timezone-aware")
    if last_n is not None and last_n < 0:
        raise ValueError("last_n must be >= 0")
    if columns is None:
        inputs = sql.SQL("inputs")
    else:
        # Only the requested keys leave the database; a key missing from a row becomes null.
        pairs = [
            sql.SQL("{}, inputs -> {}").format(sql.Literal(c), sql.Literal(c)) for c in columns
        ]
        inputs = sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs))
    where = [
        sql.SQL("deployment_id = {}").format(sql.Literal(int(deployment_id))),
        sql.SQL("NOT shadow"),
        sql.SQL("error = ''"),
    ]
    if since is not None:
        where.append(sql.SQL("created_at >= {}").format(sql.Literal(since)))
    limit = sql.SQL("")
    if last_n is not None:
        limit = sql.SQL(" LIMIT {}").format(sql.Literal(int(last_n)))
    select = sql.SQL(
        "SELECT jsonb_build_object('inputs', {inputs}, 'prediction', output, 'label', label)"
        " FROM {table} WHERE {where} ORDER BY created_at DESC, id DESC{limit}"
    ).format(
        inputs=inputs,
        table=sql.Identifier(TABLE),
        where=sql.SQL(" AND ").join(where),
        limit=limit,
    )
    return sql.SQL("COPY ({}) TO STDOUT WITH {}").format(select, _COPY_OPTIONS)


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
    query = window_query(deployment_id=deployment_id, since=since, last_n=last_n, columns=columns)
    buffer = io.BytesIO()
    with conn.cursor() as cursor, cursor.copy(query) as copy:
        for block in copy:
            buffer.write(block)
    if buffer.tell() == 0:
        return pd.DataFrame(columns=[*(columns or []), PREDICTION, LABEL])
    buffer.seek(0)
    try:
        frame = _from_arrow(pa_json.read_json(buffer))
    except pa.ArrowInvalid:
        # pyarrow wants one type per column; a key that is a number in one row and a string in
        # another (free-form clients) falls back to pandas' parser, which keeps objects.
        buffer.seek(0)
        frame = _from_pandas(pd.read_json(buffer, lines=True, dtype=False))
    if columns is not None:
        frame = frame.reindex(columns=[*columns, PREDICTION, LABEL])
    return frame


def _from_arrow(table: pa.Table) -> pd.DataFrame:
    inputs = table.column("inputs")
    parts: dict[str, pa.ChunkedArray] = {}
    if pa.types.is_struct(inputs.type):
        for index in range(inputs.type.num_fields):
            name = inputs.type.field(index).name
            parts[name] = pa.chunked_array(
                [chunk.field(index) for chunk in inputs.chunks], type=inputs.type.field(index).type
            )
    # A key named like a reserved column would be shadowed; the reserved ones win, as documented.
    for name in (PREDICTION, LABEL):
        parts[name] = table.column(name) if name in table.column_names else pa.nulls(len(table))
    return pa.table(parts).to_pandas()


def _from_pandas(raw: pd.DataFrame) -> pd.DataFrame:
    inputs = pd.json_normalize(raw["inputs"].tolist(), max_level=0)
    inputs = inputs.drop(columns=[c for c in (PREDICTION, LABEL) if c in inputs.columns])
    inputs[PREDICTION] = raw[PREDICTION] if PREDICTION in raw.columns else None
    inputs[LABEL] = raw[LABEL] if LABEL in raw.columns else None
    # Columns that parsed as objects but hold only numbers become numeric again.
    for name in inputs.columns:
        if inputs[name].dtype == object:
            converted = pd.to_numeric(inputs[name], errors="coerce")
            if converted.notna().sum() == inputs[name].notna().sum():
                inputs[name] = converted
    return inputs
