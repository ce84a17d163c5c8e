"""Periodic tasks of the experiments app (entry points only; the work is in services)."""

from __future__ import annotations

from celery import shared_task

from apps.experiments.models import Sweep, SweepStatus
from apps.experiments.services.runs import runs_sync
from apps.experiments.services.sweeps import sweep_advance


@shared_task(name="experiments.sync_runs")
def sync_runs(full: bool = False) -> dict:
    return runs_sync(full=full).as_dict()


@shared_task(name="experiments.advance_sweeps")
def advance_sweeps() -> list[int]:
    """A trial's end advances its sweep on commit; this catches a sweep whose advance was lost
    (the process died right after the commit), so no sweep waits forever."""
    ids = list(Sweep.objects.filter(status=SweepStatus.RUNNING).values_list("pk", flat=True))
    for sweep_id in ids:
        sweep_advance(sweep_id=sweep_id)
    return ids
