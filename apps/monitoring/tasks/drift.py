"""Scheduled monitor runs: beat sends `monitoring.run_monitor` every N minutes per monitor."""

from __future__ import annotations

from celery import shared_task

from apps.monitoring.services.drift import drift_run_scheduled


@shared_task(name="monitoring.run_monitor", acks_late=True, reject_on_worker_lost=True)
def run_monitor(monitor_id: int) -> int | None:
    """Queues a drift run unless the monitor is disabled or its last run is still pending;
    returns the new report's id."""
    report = drift_run_scheduled(monitor_id=monitor_id)
    return report.pk if report is not None else None
