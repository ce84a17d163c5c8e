"""Live traffic of a deployment from the prediction log, per minute and model version:
requests, error rate and p50/p95 latency. Aggregated in SQL on PostgreSQL
(percentile_cont); other databases fall back to Python over the newest rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from apps.deployments.models import Deployment, PredictionLog
from apps.registry.models import ModelVersion

WINDOW_MINUTES = 60
FALLBACK_ROWS = 20_000

_SQL = """
SELECT date_trunc('minute', created_at) AS minute, model_version_id, shadow,
       count(DISTINCT request_id) AS requests,
       count(DISTINCT request_id) FILTER (WHERE error <> '') AS errors,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95
FROM deployments_predictionlog
WHERE deployment_id = %s AND created_at >= %s
GROUP BY 1, 2, 3
ORDER BY 1
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _rows_python(deployment: Deployment, since: datetime) -> list[tuple]:
    logs = PredictionLog.objects.filter(deployment=deployment, created_at__gte=since).values_list(
        "created_at", "model_version_id", "shadow", "request_id", "error", "latency_ms"
    )[:FALLBACK_ROWS]
    groups: dict[tuple, dict[str, Any]] = defaultdict(
        lambda: {"requests": set(), "errors": set(), "latency": []}
    )
    for at, version_id, shadow, request_id, error, latency in logs:
        group = groups[(at.replace(second=0, microsecond=0), version_id, shadow)]
        group["requests"].add(request_id)
        if error:
            group["errors"].add(request_id)
        group["latency"].append(latency)
    return [
        (*key, len(g["requests"]), len(g["errors"]), _percentile(g["latency"], 0.5),
         _percentile(g["latency"], 0.95))
        for key, g in sorted(groups.items(), key=lambda item: item[0][0])
    ]  # fmt: skip


def _role(deployment: Deployment, version_id: int, shadow: bool) -> str:
    current = deployment.current_revision
    if shadow:
        return "shadow"
    if current is not None and version_id == current.candidate_id:
        return "candidate"
    if current is not None and version_id == current.stable_id:
        return "stable"
    return "earlier"


def deployment_traffic(*, deployment: Deployment, minutes: int = WINDOW_MINUTES) -> dict:
    """{"since", "series": [{"label", "version", "role", "points": [{"t", "requests",
    "error_rate", "p50", "p95"}]}]}; one series per model version (and shadow copy)."""
    since = timezone.now() - timedelta(minutes=minutes)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_SQL, [deployment.pk, since])
            rows = cursor.fetchall()
    else:
        rows = _rows_python(deployment, since)
    numbers = dict(
        ModelVersion.objects.filter(pk__in={r[1] for r in rows}).values_list("pk", "version")
    )
    series: dict[tuple, dict[str, Any]] = {}
    for minute, version_id, shadow, requests, errors, p50, p95 in rows:
        key = (version_id, shadow)
        if key not in series:
            role = _role(deployment, version_id, shadow)
            number = numbers.get(version_id)
            series[key] = {
                "label": f"v{number} ({role})",
                "version": number,
                "role": role,
                "points": [],
            }
        series[key]["points"].append(
            {
                "t": minute.isoformat(),
                "requests": requests,
                "error_rate": round(errors / requests, 4) if requests else 0.0,
                "p50": round(float(p50), 3),
                "p95": round(float(p95), 3),
            }
        )
    return {"since": since.isoformat(), "series": list(series.values())}
