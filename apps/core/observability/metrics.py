"""The in-process metrics and the registry a scrape reads.

With several web processes (gunicorn workers) each process holds its own request histogram.
When PROMETHEUS_MULTIPROC_DIR is set (an empty folder, the same for all workers, wiped at
start), prometheus_client writes the histogram to files there and a scrape of any process sums
them all; without it, a scrape reports the process that answered it only.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    multiprocess,
)

from apps.core.observability.collectors import DatabaseCollector, QueueDepthCollector

# Not registered anywhere at import: each scrape builds its registry (see scrape_registry).
REQUEST_LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL route name (never the raw path), method and "
    "status class.",
    ["view", "method", "status"],
    registry=None,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(*, view: str, method: str, status_code: int, seconds: float) -> None:
    # An arbitrary method string from a client must not create a new series.
    method = method if method in _METHODS else "other"
    REQUEST_LATENCY.labels(view=view, method=method, status=f"{status_code // 100}xx").observe(
        seconds
    )


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def scrape_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if multiprocess_mode():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_LATENCY)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    registry.register(DatabaseCollector())
    registry.register(QueueDepthCollector())
    return registry
