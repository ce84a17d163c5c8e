"""A real Celery worker process on Redis runs tracked jobs; a killed worker's job is reaped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from apps.core.models import AuditEvent, Job, JobStatus
from apps.core.services.jobs import job_create
from tests.celery_worker import ROOT, _database_url, status, wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_worker_runs_a_tracked_job_to_success(world, workers):
    worker = workers()
    job = job_create(
        project=world.alpha,
        kind="core.diagnostic.gpu",
        params={"seconds": 0.5, "steps": 2},
        actor=world.users["carl"],
    )
    wait_for(lambda: status(job) == JobStatus.SUCCEEDED, 30, worker.log)
    job.refresh_from_db()
    assert job.progress == 1.0 and job.message == "step 2/2"
    assert job.worker and job.started_at <= job.finished_at
    actions = list(
        AuditEvent.objects.filter(object_type="core.job", object_id=str(job.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["job.create", "job.start", "job.succeeded"]


def test_job_of_a_sigkilled_worker_is_failed_by_the_reaper(world, workers):
    doomed = workers()
    job = job_create(
        project=world.alpha, kind="core.diagnostic.default", params={"seconds": 120, "steps": 120}
    )
    wait_for(lambda: Job.objects.get(pk=job.pk).progress > 0, 30, doomed.log)
    doomed.proc.send_signal(signal.SIGKILL)
    doomed.proc.wait(timeout=10)
    assert status(job) == JobStatus.RUNNING  # nobody told the database: only the reaper can

    # Another worker, running the periodic reaper through beat, notices the silence.
    survivor = workers(beat=True)
    wait_for(lambda: status(job) == JobStatus.FAILED, 45, survivor.log)
    job.refresh_from_db()
    assert "Worker lost" in job.error
    assert job.finished_at is not None
    assert AuditEvent.objects.filter(action="job.reaped", object_id=str(job.pk)).exists()


def test_job_sent_while_the_broker_is_down_fails_with_a_reason(world, tmp_path):
    """The web process commits the row, the broker refuses the task: the job says why."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",  # nothing listens there
        "VAR_DIR": str(tmp_path),
    }
    script = (
        "from apps.core.models import Project;"
        "from apps.core.services.jobs import job_create;"
        "job = job_create(project=Project.objects.get(slug='alpha'),"
        " kind='core.diagnostic.default');"
        "print('JOB', job.pk)"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    job = Job.objects.get(pk=int(done.stdout.split("JOB")[1]))
    assert job.status == JobStatus.FAILED
    assert "Could not send the job to the broker" in job.error
