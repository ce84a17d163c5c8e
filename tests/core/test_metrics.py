"""`/metrics`: Prometheus text that prometheus_client's own parser reads, access control, and
figures drawn from real rows (predictions, jobs, drift reports) and a real broker."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.urls import resolve
from django.utils import timezone
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from apps.core.models import Job, JobStatus
from apps.deployments.models import Deployment, PredictionLog
from apps.monitoring.models import DriftReport, Monitor
from apps.registry.models import RegisteredModel

pytestmark = pytest.mark.django_db


def scrape(client, **extra) -> dict[str, dict[tuple, float]]:
    """{family: {((label, value), ...) sorted, sample suffix: value}}."""
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        samples = families.setdefault(family.name, {})
        for sample in family.samples:
            key = (sample.name.removeprefix(family.name), *sorted(sample.labels.items()))
            samples[key] = sample.value
    return families


def deployment(world, slug: str) -> Deployment:
    model = RegisteredModel.objects.create(project=world.alpha, name=f"model-{slug}")
    return Deployment.objects.create(
        project=world.alpha, registered_model=model, environment="production", slug=slug
    )


def predictions(dep: Deployment, *, ok: int, errors: int, shadow: int = 0, age_hours=0) -> None:
    at = timezone.now() - timedelta(hours=age_hours)
    rows = []
    for i in range(ok + errors + shadow):
        failed = i < errors
        rows.append(
            PredictionLog(
                deployment=dep,
                revision_id=1,
                model_version_id=1,
                request_id=f"r{i}",
                inputs={},
                output=None if failed else "yes",
                error="boom" if failed else "",
                shadow=i >= ok + errors,
                latency_ms=3.0,
                created_at=at,
            )
        )
    PredictionLog.objects.bulk_create(rows)


def finished_job(world, kind: str, status: str, seconds: float, *, ago_hours=0.0) -> Job:
    end = timezone.now() - timedelta(hours=ago_hours)
    return Job.objects.create(
        project=world.alpha, kind=kind, status=status,
        started_at=end - timedelta(seconds=seconds), finished_at=end,
    )  # fmt: skip


@pytest.fixture
def estate(world):
    a, b = deployment(world, "churn-prod"), deployment(world, "fraud-prod")
    predictions(a, ok=5, errors=2, shadow=4)
    predictions(a, ok=100, errors=100, age_hours=3)  # outside the window
    predictions(b, ok=1, errors=0)
    finished_job(world, "training.train", JobStatus.SUCCEEDED, 2)
    finished_job(world, "training.train", JobStatus.SUCCEEDED, 120)
    finished_job(world, "training.train", JobStatus.FAILED, 30)
    finished_job(world, "training.train", JobStatus.FAILED, 30, ago_hours=5)  # too old
    Job.objects.create(project=world.alpha, kind="training.train", status=JobStatus.RUNNING)
    monitor = Monitor.objects.create(project=world.alpha, deployment=a, name="drift")
    DriftReport.objects.create(monitor=monitor, status="ok", dataset_drift=True)
    DriftReport.objects.create(monitor=monitor, status="ok", dataset_drift=False)
    DriftReport.objects.create(monitor=monitor, status="ok", dataset_drift=False)
    DriftReport.objects.create(monitor=monitor, status="failed")
    return a, b


def test_every_family_is_exposed_with_bounded_labels(client, estate, api, world):
    api(world.users["carl"]).get("/api/v1/me/")
    client.get("/api/v1/dataset-versions/987654/")
    client.get("/no/such/page/4242")
    families = scrape(client)

    latency = families["portal_http_request_duration_seconds"]
    views = {dict(key[1:])["view"] for key in latency}
    assert "unmatched" in views  # the unknown page
    assert not any("987654" in v or "4242" in v for v in views)  # never a raw path
    # The histogram lives for the whole process: pick this request's own label exactly.
    match = resolve("/api/v1/me/")
    me = match.view_name or match.route
    assert me in views
    count = latency[("_count", ("method", "GET"), ("status", "2xx"), ("view", me))]
    assert count >= 1

    assert families["portal_predictions_recent"] == {
        ("", ("deployment", "churn-prod"), ("status", "ok")): 5.0,
        ("", ("deployment", "churn-prod"), ("status", "error")): 2.0,
        ("", ("deployment", "fraud-prod"), ("status", "ok")): 1.0,
        ("", ("deployment", "fraud-prod"), ("status", "error")): 0.0,
    }

    jobs = families["portal_job_duration_seconds"]
    ok = (("kind", "training.train"), ("outcome", "succeeded"))
    failed = (("kind", "training.train"), ("outcome", "failed"))
    assert jobs[("_count", *ok)] == 2 and jobs[("_count", *failed)] == 1
    assert jobs[("_sum", *ok)] == pytest.approx(122, abs=0.01)
    assert (
        jobs[("_bucket", ("kind", "training.train"), ("le", "5.0"), ("outcome", "succeeded"))] == 1
    )
    assert (
        jobs[("_bucket", ("kind", "training.train"), ("le", "300.0"), ("outcome", "succeeded"))]
        == 2
    )
    assert jobs[("_bucket", ("kind", "training.train"), ("le", "+Inf"), ("outcome", "failed"))] == 1

    assert families["portal_drift_reports"] == {
        ("", ("drift", "yes"), ("status", "ok")): 1.0,
        ("", ("drift", "no"), ("status", "ok")): 2.0,
        ("", ("drift", "unknown"), ("status", "failed")): 1.0,
    }
    assert set(families["portal_queue_depth"]) == {
        ("", ("queue", "default")),
        ("", ("queue", "gpu")),
    }
    assert all(v == 0 for v in families["portal_queue_depth_error"].values())
    assert all(v == 0 for v in families["portal_scrape_error"].values())


def test_a_scrape_costs_a_fixed_number_of_queries(
    client, estate, world, django_assert_max_num_queries
):
    scrape(client)  # warm: first-request setup is not the scrape's cost
    for i in range(5):
        predictions(deployment(world, f"more-{i}"), ok=2, errors=1)
        finished_job(world, f"kind.{i}", JobStatus.SUCCEEDED, i + 1)
    with django_assert_max_num_queries(3):
        families = scrape(client)
    assert len(families["portal_predictions_recent"]) == 14


@pytest.mark.parametrize(
    ("extra", "allowed"),
    [
        ({}, True),  # the test client is 127.0.0.1
        ({"REMOTE_ADDR": "::1"}, True),
        ({"REMOTE_ADDR": "::ffff:127.0.0.1"}, True),
        ({"REMOTE_ADDR": "203.0.113.9"}, False),
        ({"REMOTE_ADDR": "not-an-address"}, False),
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer s3cret-token"}, True),
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer wrong"}, False),
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer s3cret-tokén"}, False),
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Token s3cret-token"}, False),
    ],
)
def test_access_needs_the_token_or_an_allowed_network(client, settings, extra, allowed):
    settings.METRICS_TOKEN = "s3cret-token"
    response = client.get("/metrics", **extra)
    assert response.status_code == (200 if allowed else 403)
    assert (b"portal_queue_depth" in response.content) is allowed


def test_no_token_is_accepted_when_none_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


def test_allowed_networks_come_from_settings(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics").status_code == 403  # 127.0.0.1 is no longer listed


def test_only_get(client):
    assert client.post("/metrics").status_code == 405


def test_queue_depth_counts_waiting_tasks_on_redis(client):
    from apps.core.tasks import run_job

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()
    try:
        for _ in range(3):
            run_job.apply_async(args=[0], queue="gpu")  # no worker consumes it here
        run_job.apply_async(args=[0], queue="gpu", priority=9)  # kombu's priority list
        depth = scrape(client)["portal_queue_depth"]
    finally:
        broker.flushdb()
    assert depth[("", ("queue", "gpu"))] == 4
    assert depth[("", ("queue", "default"))] == 0


def test_queue_depth_counts_files_on_the_filesystem_broker(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.BROKER_DIR = tmp_path
    folder = tmp_path / "queue"
    folder.mkdir()
    # Its own control folder too: kombu keeps exchange bindings there, shared by default.
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    options["control_folder"] = str(tmp_path / "control")
    with Connection("filesystem://", transport_options=options) as conn:
        gpu, default = conn.SimpleQueue("gpu"), conn.SimpleQueue("default")
        gpu.put({"n": 1})
        gpu.put({"n": 2})
        default.put({"n": 3})
        gpu.close()
        default.close()
    depth = scrape(client)["portal_queue_depth"]
    assert depth == {("", ("queue", "gpu")): 2, ("", ("queue", "default")): 1}


def test_an_unreachable_broker_is_a_gauge_not_an_error(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    families = scrape(client)
    assert families["portal_queue_depth"] == {}
    assert families["portal_queue_depth_error"] == {
        ("", ("queue", "default")): 1.0,
        ("", ("queue", "gpu")): 1.0,
    }


_PROCESS = """
import sys
import django
django.setup()
from prometheus_client import generate_latest
from apps.core.observability.metrics import observe_request, scrape_registry
if sys.argv[1] == "observe":
    observe_request(view="healthz", method="GET", status_code=200, seconds=0.01)
else:
    sys.stdout.write(generate_latest(scrape_registry()).decode())
"""


def test_multiprocess_mode_sums_the_histogram_of_every_web_process(tmp_path):
    """Two gunicorn-like processes observe a request each; a third process's scrape sees both."""
    import os
    import subprocess
    import sys

    from tests.celery_worker import ROOT, _database_url

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DATABASE_URL": _database_url()}

    def run(mode: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", _PROCESS, mode], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=60, check=True,
        )  # fmt: skip
        return done.stdout

    run("observe")
    run("observe")
    families = {f.name: f for f in text_string_to_metric_families(run("scrape"))}
    samples = families["portal_http_request_duration_seconds"].samples
    counts = [
        s.value for s in samples if s.name.endswith("_count") and s.labels["view"] == "healthz"
    ]
    assert counts == [2.0]
    assert "portal_queue_depth" in families  # the shared-state collectors still answer
