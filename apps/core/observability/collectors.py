"""Scrape-time collectors over shared state: one bounded query (or broker round trip) each.

Why from the database: predictions are written by every web process and jobs run in worker
processes on other hosts; the rows are the one place all of them meet. Figures cover a recent
window (METRICS_WINDOW_SECONDS) so each query reads an index range, never the whole table:
they are gauges ("in the last hour"), not ever-growing counters. A collector that fails
reports `portal_scrape_error{collector=...} 1` instead of failing the scrape.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

log = logging.getLogger(__name__)

JOB_DURATION_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)


def _window_start():
    return timezone.now() - timedelta(seconds=settings.METRICS_WINDOW_SECONDS)


def prediction_families() -> Iterator[Metric]:
    """Served prediction rows (shadow copies excluded) by deployment and ok/error."""
    from apps.deployments.models import PredictionLog

    rows = (
        PredictionLog.objects.filter(created_at__gte=_window_start(), shadow=False)
        .values("deployment__slug")
        .annotate(ok=Count("id", filter=Q(error="")), failed=Count("id", filter=~Q(error="")))
        .order_by("deployment__slug")
    )
    family = GaugeMetricFamily(
        "portal_predictions_recent",
        "Prediction rows logged in the last METRICS_WINDOW_SECONDS, by deployment and status.",
        labels=["deployment", "status"],
    )
    for row in rows:
        family.add_metric([row["deployment__slug"], "ok"], row["ok"])
        family.add_metric([row["deployment__slug"], "error"], row["failed"])
    yield family


def job_families() -> Iterator[Metric]:
    """Durations of jobs that ended in the window, by kind and outcome, as one histogram per
    (kind, outcome) computed by conditional counts in a single aggregate query."""
    from apps.core.models import Job

    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    buckets = {
        f"le_{i}": Count("id", filter=Q(duration__lte=timedelta(seconds=bound)))
        for i, bound in enumerate(JOB_DURATION_BUCKETS)
    }
    rows = (
        Job.objects.filter(finished_at__gte=_window_start(), started_at__isnull=False)
        .annotate(duration=duration)
        .values("kind", "status")
        .annotate(total=Count("id"), seconds=Sum("duration"), **buckets)
        .order_by("kind", "status")
    )
    family = HistogramMetricFamily(
        "portal_job_duration_seconds",
        "Run time of jobs that ended in the last METRICS_WINDOW_SECONDS, by kind and outcome.",
        labels=["kind", "outcome"],
    )
    for row in rows:
        points = [
            (str(float(bound)), row[f"le_{i}"]) for i, bound in enumerate(JOB_DURATION_BUCKETS)
        ]
        points.append(("+Inf", row["total"]))
        seconds = row["seconds"].total_seconds() if row["seconds"] is not None else 0.0
        family.add_metric([row["kind"], row["status"]], points, sum_value=seconds)
    yield family


def drift_families() -> Iterator[Metric]:
    """All drift reports by status and verdict: few rows (one per monitor run), so no window."""
    from apps.monitoring.models import DriftReport

    rows = (
        DriftReport.objects.values("status", "dataset_drift")
        .annotate(n=Count("id"))
        .order_by("status", "dataset_drift")
    )
    family = GaugeMetricFamily(
        "portal_drift_reports",
        "Drift reports by status and verdict (drift: yes, no, unknown).",
        labels=["status", "drift"],
    )
    verdict = {True: "yes", False: "no", None: "unknown"}
    for row in rows:
        family.add_metric([row["status"], verdict[row["dataset_drift"]]], row["n"])
    yield family


SOURCES = {
    "predictions": prediction_families,
    "jobs": job_families,
    "drift_reports": drift_families,
}


class DatabaseCollector:
    """Runs each source; one that fails reports `portal_scrape_error{collector=...} 1` instead
    of failing the whole scrape."""

    def collect(self) -> Iterator[Metric]:
        error = GaugeMetricFamily(
            "portal_scrape_error",
            "1 when a collector could not read its source during this scrape.",
            labels=["collector"],
        )
        for name, source in SOURCES.items():
            try:
                families = list(source())
            except Exception:
                log.exception("metrics collector %s failed", name)
                error.add_metric([name], 1)
                continue
            error.add_metric([name], 0)
            yield from families
        yield error


def _redis_depths(url: str, queues: tuple[str, ...], timeout: float) -> dict[str, int]:
    import redis
    from kombu.transport.redis import PRIORITY_STEPS, Channel

    # kombu keeps one list per priority step: "<queue>", "<queue>\x06\x163", ...
    keys = {
        queue: [queue if step == 0 else f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS]
        for queue in queues
    }
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            for key in keys[queue]:
                pipe.llen(key)
        lengths = iter(pipe.execute())
        return {queue: sum(next(lengths) for _ in keys[queue]) for queue in queues}
    finally:
        client.close()


def _filesystem_depths(queues: tuple[str, ...]) -> dict[str, int]:
    # kombu's filesystem transport names a message "<ms>_<uuid>.<queue>.msg".
    counts = dict.fromkeys(queues, 0)
    with os.scandir(settings.BROKER_DIR / "queue") as entries:
        for entry in entries:
            queue = entry.name.partition(".")[2].removesuffix(".msg")
            if queue in counts:
                counts[queue] += 1
    return counts


def queue_depths() -> dict[str, int | None]:
    """Messages waiting per Celery queue; None for a queue that could not be read."""
    from portal.celery import QUEUES

    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith(("redis://", "rediss://")):
            return dict(_redis_depths(url, QUEUES, settings.METRICS_QUEUE_TIMEOUT_SECONDS))
        if url.startswith("filesystem"):
            return dict(_filesystem_depths(QUEUES))
        log.warning("queue depth: broker %s is not supported", url.split(":", 1)[0])
    except Exception as exc:
        # Once per scrape while the broker is down: one line, not a traceback each time.
        log.warning("queue depth: the broker could not be read: %s", exc)
    return dict.fromkeys(QUEUES)


class QueueDepthCollector:
    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "portal_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        error = GaugeMetricFamily(
            "portal_queue_depth_error",
            "1 when the broker could not be read for this queue during this scrape.",
            labels=["queue"],
        )
        for queue, count in queue_depths().items():
            if count is not None:
                depth.add_metric([queue], count)
            error.add_metric([queue], 0 if count is not None else 1)
        yield depth
        yield error
