from __future__ import annotations

import logging
import threading
import traceback
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.core.jobs import JobCancelled, JobContext, get_job_kind, job_end_hooks
from apps.core.models import Job, JobStatus, Project
from apps.core.models.jobs import TRANSITIONS
from apps.core.services.audit import audit_record

log = logging.getLogger(__name__)


class IllegalTransition(ValidationError):
    status_code = 409


def _transition(job: Job, to: str) -> None:
    if to not in TRANSITIONS.get(job.status, ()):
        raise IllegalTransition({"status": [f"A {job.status} job cannot become {to}."]})
    job.status = to


def _ended(job: Job, reason: str, *, succeeded: bool = False) -> None:
    spec = get_job_kind(job.kind)
    if spec is None:
        return
    if not succeeded and spec.on_unsuccessful_end is not None:
        spec.on_unsuccessful_end(job, reason)
    if spec.on_end is not None:
        spec.on_end(job, reason)
    for hook in job_end_hooks(job.kind):
        hook(job, reason)


def job_create(
    *,
    project: Project,
    kind: str,
    params: dict[str, Any] | None = None,
    actor: AbstractBaseUser | None = None,
) -> Job:
    """Create the job row, then send its task once the surrounding transaction commits."""
    spec = get_job_kind(kind)
    if spec is None:
        raise ValidationError({"kind": [f"Unknown job kind '{kind}'."]})
    params = params or {}
    if spec.params is not None:
        serializer = spec.params(data=params)
        if not serializer.is_valid():
            raise ValidationError({"params": serializer.errors})
        params = dict(serializer.validated_data)
    with transaction.atomic():
        job = Job.objects.create(
            project=project,
            kind=kind,
            queue=spec.queue,
            params=params,
            created_by=actor if actor and actor.is_authenticated else None,
            task_id=uuid.uuid4().hex,
        )
        audit_record(
            actor=actor,
            action="job.create",
            obj=job,
            project=project,
            changes={"kind": kind, "queue": spec.queue, "params": params},
        )
        transaction.on_commit(lambda: _send(job))
    return job


def _send(job: Job) -> None:
    from apps.core.tasks import run_job

    try:
        run_job.apply_async(args=[job.pk], queue=job.queue, task_id=job.task_id)
    except Exception as exc:
        # The row is committed but no task exists: say so on the job instead of leaving it
        # queued forever (and instead of failing the request that created it).
        log.exception("could not send job %s to the broker", job.pk)
        _fail_queued(job.pk, f"Could not send the job to the broker: {exc}")


def _fail_queued(job_id: int, error: str) -> None:
    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("project").get(pk=job_id)
        if job.status != JobStatus.QUEUED:
            return
        _transition(job, JobStatus.FAILED)
        job.finished_at = timezone.now()
        job.error = error
        job.save(update_fields=["status", "finished_at", "error"])
        _ended(job, error)
        audit_record(
            actor=None,
            action="job.failed",
            obj=job,
            project=job.project,
            changes={"status": {"from": JobStatus.QUEUED, "to": JobStatus.FAILED}, "error": error},
        )


@transaction.atomic
def job_cancel(*, job: Job, actor: AbstractBaseUser | None) -> Job:
    job = Job.objects.select_for_update().get(pk=job.pk)
    previous = job.status
    _transition(job, JobStatus.CANCELLED)
    job.finished_at = timezone.now()
    job.message = "cancelled"
    job.save(update_fields=["status", "finished_at", "message"])
    _ended(job, "The job was cancelled.")
    audit_record(
        actor=actor,
        action="job.cancel",
        obj=job,
        project=job.project,
        changes={"status": {"from": previous, "to": job.status}},
    )
    return job


def job_start(*, job_id: int, worker: str) -> Job | None:
    """Move a queued job to running. Returns None when the job must not run (already done,
    cancelled, reaped, or running elsewhere): a redelivered task then does nothing."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.QUEUED:
            return None
        _transition(job, JobStatus.RUNNING)
        now = timezone.now()
        job.started_at = job.heartbeat_at = now
        job.worker = worker
        job.attempts += 1
        job.save(update_fields=["status", "started_at", "heartbeat_at", "worker", "attempts"])
        audit_record(
            actor=None,
            action="job.start",
            obj=job,
            project=job.project,
            changes={
                "status": {"from": JobStatus.QUEUED, "to": JobStatus.RUNNING},
                "worker": worker,
            },
        )
    return job


def _finish(
    job_id: int, to: str, *, result: dict | None = None, error: str = "", reason: str = ""
) -> bool:
    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("project").get(pk=job_id)
        if job.status != JobStatus.RUNNING:
            return False  # cancelled or reaped meanwhile: that decision stands
        _transition(job, to)
        job.finished_at = timezone.now()
        job.result = result or {}
        job.error = error
        if to == JobStatus.SUCCEEDED:
            job.progress = 1.0
        job.save(update_fields=["status", "finished_at", "result", "error", "progress"])
        _ended(job, reason or error, succeeded=to == JobStatus.SUCCEEDED)
        audit_record(
            actor=None,
            action=f"job.{to}",
            obj=job,
            project=job.project,
            changes={"status": {"from": JobStatus.RUNNING, "to": to}, "error": error[:500]},
        )
    return True


def job_report_progress(*, job_id: int, fraction: float, message: str = "") -> bool:
    """Record progress and a heartbeat. False when the job is no longer running."""
    updated = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        progress=max(0.0, min(1.0, fraction)),
        message=message[:500],
        heartbeat_at=timezone.now(),
    )
    return updated == 1


def job_heartbeat(*, job_id: int) -> bool:
    updated = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        heartbeat_at=timezone.now()
    )
    return updated == 1


class _Heartbeat(threading.Thread):
    def __init__(self, job_id: int, ctx: JobContext) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id, self.ctx = job_id, ctx
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                if not job_heartbeat(job_id=self.job_id):
                    self.ctx.cancelled = True
                    return
        except Exception:
            log.exception("heartbeat for job %s failed", self.job_id)
        finally:
            connection.close()


def job_run(*, job_id: int, worker: str) -> str | None:
    """Run a job's handler in this process with a heartbeat; returns the final status."""
    job = job_start(job_id=job_id, worker=worker)
    if job is None:
        return None
    spec = get_job_kind(job.kind)
    if spec is None:
        _finish(job_id, JobStatus.FAILED, error=f"No handler for job kind '{job.kind}'.")
        return JobStatus.FAILED
    ctx = JobContext(job_id, job.params)
    beat = _Heartbeat(job_id, ctx)
    beat.start()
    try:
        result = spec.handler(ctx) or {}
    except JobCancelled:
        return Job.objects.values_list("status", flat=True).get(pk=job_id)
    except Exception as exc:
        log.exception("job %s failed", job_id)
        error = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=20)}"
        _finish(job_id, JobStatus.FAILED, error=error, reason=str(exc) or type(exc).__name__)
        return JobStatus.FAILED
    finally:
        beat.stopped.set()
        beat.join(timeout=5)
    _finish(job_id, JobStatus.SUCCEEDED, result=result)
    return JobStatus.SUCCEEDED


def jobs_reap_stale(*, now: datetime | None = None) -> list[int]:
    """Fail running jobs whose worker stopped sending heartbeats (killed, host lost)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
    reaped = []
    with transaction.atomic():
        stale = (
            Job.objects.select_for_update(skip_locked=True)
            .select_related("project")
            .filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
        )
        for job in stale:
            _transition(job, JobStatus.FAILED)
            job.finished_at = now
            job.error = (
                f"Worker lost: no heartbeat since {job.heartbeat_at.isoformat()} "
                f"from {job.worker or 'an unknown worker'}."
            )
            job.save(update_fields=["status", "finished_at", "error"])
            _ended(job, job.error)
            audit_record(
                actor=None,
                action="job.reaped",
                obj=job,
                project=job.project,
                changes={"status": {"from": JobStatus.RUNNING, "to": JobStatus.FAILED}},
            )
            reaped.append(job.pk)
    return reaped
