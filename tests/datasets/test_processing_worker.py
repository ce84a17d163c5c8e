"""Dataset versions processed by a real Celery worker on Redis, and what happens when it dies."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import Job
from apps.core.services.jobs import job_start, jobs_reap_stale
from apps.datasets.models import DatasetVersion
from tests.celery_worker import wait_for
from tests.datasets.conftest import upload

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_a_worker_processes_an_uploaded_version(world, api, dataset, workers):
    worker = workers()
    body = upload(api(world.users["carl"]), dataset.pk, "x,y\n1,a\n2,b\n3,\n").json()

    def ready() -> bool:
        return DatasetVersion.objects.get(pk=body["id"]).status == "ready"

    wait_for(ready, 60, worker.log)
    version = DatasetVersion.objects.get(pk=body["id"])
    assert version.row_count == 3
    assert [c["name"] for c in version.schema] == ["x", "y"]
    assert version.job.status == "succeeded"


def test_a_version_whose_worker_was_lost_ends_failed(world, api, dataset, settings):
    body = upload(api(world.users["carl"]), dataset.pk, "x\n1\n").json()
    version = DatasetVersion.objects.get(pk=body["id"])
    job_start(job_id=version.job_id, worker="gone:1")
    DatasetVersion.objects.filter(pk=version.pk).update(status="processing")
    Job.objects.filter(pk=version.job_id).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS + 1)
    )
    assert jobs_reap_stale() == [version.job_id]
    version.refresh_from_db()
    assert version.status == "failed"
    assert "Worker lost" in version.error
