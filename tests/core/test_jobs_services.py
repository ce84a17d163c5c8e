import json
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from apps.core.models import AuditEvent, Job, JobStatus
from apps.core.services import jobs as svc
from portal.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_job_row_exists_before_its_task_is_sent_on_commit(
    world, django_capture_on_commit_callbacks, settings
):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()
    with django_capture_on_commit_callbacks() as callbacks:
        job = svc.job_create(project=world.alpha, kind="core.diagnostic.gpu", params={"seconds": 0})
        assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    assert len(callbacks) == 1  # the send waits for the commit
    assert broker.llen("gpu") == 0
    callbacks[0]()
    # Exactly one message, on the job's own queue and no other.
    assert (broker.llen("gpu"), broker.llen("default")) == (1, 0)
    message = json.loads(broker.lpop("gpu"))
    assert message["headers"]["task"] == "core.run_job"
    assert message["headers"]["id"] == job.task_id
    assert job.params == {"seconds": 0.0, "steps": 5, "fail": False}
    assert AuditEvent.objects.filter(action="job.create", object_id=str(job.pk)).exists()


def test_unknown_kind_and_bad_params_are_refused_before_anything_is_stored(world):
    before = Job.objects.count()
    with pytest.raises(svc.ValidationError) as unknown:
        svc.job_create(project=world.alpha, kind="nope")
    assert "kind" in unknown.value.detail
    with pytest.raises(svc.ValidationError) as bad:
        svc.job_create(project=world.alpha, kind="core.diagnostic.default", params={"seconds": -1})
    assert "seconds" in bad.value.detail["params"]
    assert Job.objects.count() == before


def test_run_moves_queued_to_succeeded_and_refuses_to_run_twice(world):
    job = svc.job_create(project=world.alpha, kind="core.diagnostic.default", params={"seconds": 0})
    assert svc.job_run(job_id=job.pk, worker="test") == JobStatus.SUCCEEDED
    job.refresh_from_db()
    assert (job.status, job.progress, job.attempts) == (JobStatus.SUCCEEDED, 1.0, 1)
    assert job.result["python"]
    # A redelivered task finds the job finished and does nothing.
    assert svc.job_run(job_id=job.pk, worker="test") is None
    job.refresh_from_db()
    assert job.attempts == 1


def test_handler_error_fails_the_job_with_a_reason(world):
    job = svc.job_create(
        project=world.alpha, kind="core.diagnostic.default", params={"seconds": 0, "fail": True}
    )
    assert svc.job_run(job_id=job.pk, worker="test") == JobStatus.FAILED
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "asked to fail" in job.error


def test_cancel_is_guarded(world):
    job = svc.job_create(project=world.alpha, kind="core.diagnostic.default")
    svc.job_cancel(job=job, actor=world.users["carl"])
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    with pytest.raises(svc.IllegalTransition) as exc:
        svc.job_cancel(job=job, actor=world.users["carl"])
    assert exc.value.status_code == 409
    # A cancelled job is never started by a late task.
    assert svc.job_run(job_id=job.pk, worker="test") is None


def test_cancel_of_finished_job_is_a_409_over_the_api(world, api):
    job = svc.job_create(project=world.alpha, kind="core.diagnostic.default", params={"seconds": 0})
    svc.job_run(job_id=job.pk, worker="test")
    response = api(world.users["carl"]).post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert response.status_code == 409
    assert "succeeded job cannot become cancelled" in response.json()["status"][0]


def test_reaper_fails_only_jobs_whose_heartbeat_is_stale(world, settings):
    settings.JOB_STALE_AFTER_SECONDS = 60
    now = timezone.now()
    stale = svc.job_create(project=world.alpha, kind="core.diagnostic.default")
    fresh = svc.job_create(project=world.alpha, kind="core.diagnostic.default")
    for job in (stale, fresh):
        svc.job_start(job_id=job.pk, worker="host:1")
    Job.objects.filter(pk=stale.pk).update(heartbeat_at=now - timedelta(seconds=61))
    Job.objects.filter(pk=fresh.pk).update(heartbeat_at=now - timedelta(seconds=5))

    assert svc.jobs_reap_stale(now=now) == [stale.pk]
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == JobStatus.FAILED and "Worker lost" in stale.error
    assert "host:1" in stale.error
    assert fresh.status == JobStatus.RUNNING
    assert AuditEvent.objects.filter(action="job.reaped", object_id=str(stale.pk)).count() == 1
    # A late progress report from the dead worker cannot revive the job.
    assert svc.job_report_progress(job_id=stale.pk, fraction=0.9) is False
    stale.refresh_from_db()
    assert stale.status == JobStatus.FAILED


def test_reaper_runs_on_a_schedule():
    celery_app.loader.import_default_modules()  # what a worker does at start
    entry = celery_app.conf.beat_schedule["reap-stale-jobs"]
    assert entry["task"] == "core.reap_stale_jobs"
    assert "core.reap_stale_jobs" in celery_app.tasks


def test_celery_is_configured_for_safe_redelivery():
    conf = celery_app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.broker_transport_options["visibility_timeout"] > 3600
    queues = {q.name: q.routing_key for q in conf.task_queues}
    assert queues == {"default": "default", "gpu": "gpu"}
