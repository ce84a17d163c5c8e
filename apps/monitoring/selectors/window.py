"""A monitor's current window of served predictions, and its operational figures.

PostgreSQL: the rows come through workers.drift.window.load_window (one COPY into Arrow) and
the figures (requests, errors, latency percentiles, and for a last-N window its time bounds)
through one aggregate query. SQLite, the embedded default, has no COPY: the rows come from one
values_list query straight into pandas (no model instance per row) and the percentiles are
computed in pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q

from apps.deployments.models import PredictionLog
from workers.drift.window import LABEL, PREDICTION, TABLE, load_window


@dataclass
class Window:
    frame: pd.DataFrame  # one column per monitored input, then prediction and label
    start: datetime | None
    end: datetime | None
    ops: dict[str, Any]


def current_window(
    *,
    deployment_id: int,
    columns: list[str],
    now: datetime,
    hours: int,
    last_n: int | None = None,
) -> Window:
    """The last `last_n` served predictions when set, else those of the last `hours` hours."""
    if connection.vendor == "postgresql":
        return _postgres_window(deployment_id, columns, now, hours, last_n)
    return _orm_window(deployment_id, columns, now, hours, last_n)


def _postgres_window(
    deployment_id: int, columns: list[str], now: datetime, hours: int, last_n: int | None
) -> Window:
    since = None if last_n is not None else now - timedelta(hours=hours)
    # Bounds and figures first: for a last-N window the bounds are those of the N rows.
    start, end, ops = _postgres_ops(deployment_id, since=since, until=now, last_n=last_n)
    connection.ensure_connection()
    frame = load_window(
        connection.connection,
        deployment_id=deployment_id,
        since=since if last_n is None else start,
        last_n=last_n,
        columns=columns,
    )
    return Window(frame, start, end, ops)


_BOUNDS_LAST_N = f"""
    SELECT min(created_at) AS lo, max(created_at) AS hi FROM (
        SELECT created_at FROM {TABLE}
        WHERE deployment_id = %(deployment)s AND NOT shadow AND error = ''
        ORDER BY created_at DESC, id DESC LIMIT %(last_n)s
    ) rows
"""  # noqa: S608  (a constant table name; values are parameters)
_BOUNDS_TIME = "SELECT %(since)s::timestamptz AS lo, %(until)s::timestamptz AS hi"
_OPS = f"""
    WITH bounds AS ({{bounds}})
    SELECT bounds.lo, bounds.hi, count(p.id), count(p.id) FILTER (WHERE p.error <> ''),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY p.latency_ms),
           percentile_cont(0.95) WITHIN GROUP (ORDER BY p.latency_ms)
    FROM bounds LEFT JOIN {TABLE} p
      ON p.deployment_id = %(deployment)s AND NOT p.shadow
     AND p.created_at >= bounds.lo AND p.created_at <= bounds.hi
    GROUP BY bounds.lo, bounds.hi
"""  # noqa: S608


def _postgres_ops(
    deployment_id: int, *, since: datetime | None, until: datetime, last_n: int | None
) -> tuple[datetime | None, datetime | None, dict[str, Any]]:
    bounds = _BOUNDS_LAST_N if last_n is not None else _BOUNDS_TIME
    params = {"deployment": deployment_id, "last_n": last_n, "since": since, "until": until}
    with connection.cursor() as cursor:
        cursor.execute(_OPS.format(bounds=bounds), params)
        lo, hi, requests, errors, p50, p95 = cursor.fetchone()
    return lo, hi, ops_figures(requests, errors, p50, p95)


def ops_figures(requests: int, errors: int, p50: float | None, p95: float | None) -> dict[str, Any]:
    return {
        "requests": int(requests),
        "errors": int(errors),
        "error_rate": errors / requests if requests else None,
        "latency_p50_ms": float(p50) if p50 is not None else None,
        "latency_p95_ms": float(p95) if p95 is not None else None,
    }


def _orm_window(
    deployment_id: int, columns: list[str], now: datetime, hours: int, last_n: int | None
) -> Window:
    since = None if last_n is not None else now - timedelta(hours=hours)
    frame, lo, hi = load_window_orm(
        deployment_id=deployment_id, since=since, last_n=last_n, columns=columns
    )
    start, end = (lo, hi) if last_n is not None else (since, now)
    ops = ops_figures(0, 0, None, None)
    if start is not None and end is not None:
        ops = _orm_ops(deployment_id, start, end)
    return Window(frame, start, end, ops)


def _orm_ops(deployment_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    rows = (
        PredictionLog.objects.filter(
            deployment_id=deployment_id, shadow=False, created_at__gte=start, created_at__lte=end
        )
        .annotate(failed=ExpressionWrapper(~Q(error=""), output_field=BooleanField()))
        .values_list("latency_ms", "failed")
    )
    figures = pd.DataFrame.from_records(list(rows), columns=["latency", "failed"])
    if figures.empty:
        return ops_figures(0, 0, None, None)
    # Linear interpolation, as PostgreSQL's percentile_cont.
    p50, p95 = np.quantile(figures["latency"].to_numpy(dtype=float), [0.5, 0.95])
    return ops_figures(len(figures), int(figures["failed"].astype(bool).sum()), p50, p95)


def load_window_orm(
    *,
    deployment_id: int,
    since: datetime | None = None,
    last_n: int | None = None,
    columns: list[str] | None = None,
) -> tuple[pd.DataFrame, datetime | None, datetime | None]:
    """The rows load_window reads, from one values_list query: (frame, oldest, newest time).

    The frame has the same columns, order and dtypes as load_window's for the same rows."""
    rows = PredictionLog.objects.filter(deployment_id=deployment_id, shadow=False, error="")
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    rows = rows.order_by("-created_at", "-id").values_list(
        "inputs", "output", "label", "created_at"
    )
    if last_n is not None:
        rows = rows[:last_n]
    records = list(rows)
    if columns is None:
        # jsonb's key order (shorter keys first), which load_window keeps.
        keys = {key for inputs, *_ in records if isinstance(inputs, dict) for key in inputs}
        columns = sorted(keys, key=lambda key: (len(key.encode()), key.encode()))
    if not records:
        return pd.DataFrame(columns=[*columns, PREDICTION, LABEL]), None, None
    data: dict[str, list] = {
        name: [inputs.get(name) if isinstance(inputs, dict) else None for inputs, *_ in records]
        for name in columns
    }
    data[PREDICTION] = [record[1] for record in records]
    data[LABEL] = [record[2] for record in records]
    frame = pd.DataFrame({name: _series(values) for name, values in data.items()})
    times = [record[3] for record in records]
    return frame, min(times), max(times)


def _series(values: list) -> pd.Series:
    """Arrow's reading of a JSON column: numbers numeric (floats when one is missing or not
    whole), booleans bool, text object, all-missing object."""
    present = [v for v in values if v is not None]
    if not present:
        return pd.Series(values, dtype=object)
    if all(isinstance(v, bool) for v in present):
        return pd.Series(values, dtype=bool if len(present) == len(values) else object)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        whole = all(isinstance(v, int) for v in present) and len(present) == len(values)
        return pd.Series(values, dtype="int64" if whole else "float64")
    return pd.Series(values, dtype=object)
