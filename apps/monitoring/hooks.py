"""Monitoring's hooks on other apps' jobs (a training job ending, a dataset version ready).

Both act on commit of the job's ending: the outcome must be visible first (the run reads the
job's final status and the version it registered), and whatever retraining does next (launch a
training job, open a promotion request) may fail without ever undoing the job's own ending.
A lost callback (the process died right after the commit) is caught up by the policy's next
trigger, which advances its runs in flight first.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction

from apps.core.jobs import add_job_end_hook
from apps.core.models import JobStatus
from apps.monitoring.models import RetrainRun, RetrainStatus

log = logging.getLogger(__name__)


def _advance(run_id: int) -> None:
    from apps.monitoring.services.retrain import retrain_run_advance

    try:
        retrain_run_advance(run_id=run_id)
    except Exception:
        log.exception("could not advance retraining run %s", run_id)


def _new_version(version_id: int) -> None:
    from apps.monitoring.services.retrain import retrain_on_dataset_version

    try:
        retrain_on_dataset_version(version_id=version_id)
    except Exception:
        log.exception("retraining on dataset version %s failed", version_id)


def on_training_end(job: Any, reason: str) -> None:
    runs = RetrainRun.objects.filter(training_job__job=job, status=RetrainStatus.TRAINING)
    for run_id in runs.values_list("pk", flat=True):
        transaction.on_commit(partial(_advance, run_id))


def on_dataset_end(job: Any, reason: str) -> None:
    version_id = (job.params or {}).get("version_id")
    if not version_id:
        return
    runs = RetrainRun.objects.filter(
        dataset_version_id=version_id, status=RetrainStatus.PREPARING_DATA
    )
    for run_id in runs.values_list("pk", flat=True):
        transaction.on_commit(partial(_advance, run_id))
    if job.status == JobStatus.SUCCEEDED:
        transaction.on_commit(partial(_new_version, version_id))


add_job_end_hook("training.train", on_training_end)
add_job_end_hook("datasets.process", on_dataset_end)
