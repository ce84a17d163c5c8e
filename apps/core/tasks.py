from __future__ import annotations

import os
import socket

from celery import shared_task

from apps.core.services.jobs import job_run, jobs_reap_stale


@shared_task(name="core.run_job", acks_late=True, reject_on_worker_lost=True)
def run_job(job_id: int) -> str | None:
    return job_run(job_id=job_id, worker=f"{socket.gethostname()}:{os.getpid()}")


@shared_task(name="core.reap_stale_jobs")
def reap_stale_jobs() -> list[int]:
    return jobs_reap_stale()
