"""Structured JSON logs carry the request id, in the web process and in a real Celery worker."""

from __future__ import annotations

import json
import logging
import sys

import pytest
import redis
from django.conf import settings

from apps.core import context
from apps.core.celery_signals import HEADER
from apps.core.logging import JsonFormatter, RequestIdFilter
from apps.core.models import AuditEvent, Job, JobStatus
from tests.celery_worker import wait_for
from tests.conftest import PASSWORD


def _record(message: str, **extra) -> logging.LogRecord:
    return logging.makeLogRecord(
        {"name": "portal.test", "levelno": logging.INFO, "levelname": "INFO", "msg": message,
         **extra}
    )  # fmt: skip


def test_json_formatter_writes_one_parseable_object_with_the_bound_request_id():
    token = context.bind(context.RequestContext(request_id="req-abc"))
    try:
        line = JsonFormatter().format(_record("hello %s", args=("world",), job_id=7))
    finally:
        context.reset(token)
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["message"] == "hello world"
    assert payload["level"] == "INFO" and payload["logger"] == "portal.test"
    assert payload["request_id"] == "req-abc"
    assert payload["job_id"] == 7  # extras are kept
    assert payload["time"].endswith("+00:00")


def test_json_formatter_keeps_the_traceback_and_outside_a_request_has_no_id():
    try:
        raise ValueError("bad thing")
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info(), unserialisable=object())
    payload = json.loads(JsonFormatter().format(record))
    assert payload["request_id"] is None
    assert "ValueError: bad thing" in payload["exception"]
    assert payload["unserialisable"].startswith("<object")


@pytest.fixture
def json_lines():
    """Root handler formatting like production (filter + JSON formatter), captured in a list."""
    lines: list[str] = []

    class ListHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = ListHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lines
    root.removeHandler(handler)


def test_a_request_log_line_carries_the_incoming_request_id(client, json_lines, db):
    # A refused scrape is logged by django.request after the middleware's context has ended.
    response = client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_X_REQUEST_ID="req-web-1")
    assert response.status_code == 403
    assert response["X-Request-ID"] == "req-web-1"
    payloads = [json.loads(line) for line in json_lines]
    forbidden = [p for p in payloads if p["logger"] == "django.request"]
    assert forbidden and forbidden[0]["request_id"] == "req-web-1"


@pytest.mark.django_db
def test_a_task_sent_during_a_request_carries_its_id_in_the_message_headers():
    from apps.core.tasks import run_job

    assert settings.CELERY_BROKER_URL.startswith("redis://")
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()
    token = context.bind(context.RequestContext(request_id="req-task-9"))
    try:
        run_job.apply_async(args=[0], queue="gpu")  # no worker consumes gpu here
    finally:
        context.reset(token)
    run_job.apply_async(args=[0], queue="gpu")  # outside any request: no header
    messages = [json.loads(raw) for raw in broker.lrange("gpu", 0, -1)]
    broker.flushdb()
    assert sorted(m["headers"].get(HEADER) or "" for m in messages) == ["", "req-task-9"]


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_request_id_reaches_the_worker_log(world, workers, client, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    worker = workers()
    assert client.login(username="carl", password=PASSWORD)
    response = client.post(
        "/projects/alpha/worker-check/", {"queue": "default"}, HTTP_X_REQUEST_ID="req-e2e-42"
    )
    assert response.status_code == 302
    job = Job.objects.get(kind="core.diagnostic.default")
    wait_for(lambda: Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED, 30, worker.log)

    def tagged() -> list[dict]:
        found = []
        for line in worker.lines:
            try:
                payload = json.loads(line)
            except ValueError:
                continue  # Celery's banner is printed, not logged
            if isinstance(payload, dict) and payload.get("request_id") == "req-e2e-42":
                found.append(payload)
        return found

    wait_for(lambda: bool(tagged()), 10, worker.log)
    # Celery's own line about the task, logged while it ran, carries the request's id.
    wait_for(
        lambda: any(
            p["logger"] == "celery.app.trace" and f"[{job.task_id}] succeeded" in p["message"]
            for p in tagged()
        ),
        10,
        worker.log,
    )
    # Lines logged outside any task carry no id.
    ready = [json.loads(line) for line in worker.lines if line.startswith("{") and "ready." in line]
    assert ready and ready[0]["request_id"] is None
    # The worker's audit events join the request's in one trail.
    start = AuditEvent.objects.get(action="job.start", object_id=str(job.pk))
    create = AuditEvent.objects.get(action="job.create", object_id=str(job.pk))
    assert start.request_id == create.request_id == "req-e2e-42"


def test_the_plain_format_shows_the_request_id():
    formatter = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    record = _record("hello")
    token = context.bind(context.RequestContext(request_id="req-plain"))
    try:
        RequestIdFilter().filter(record)
    finally:
        context.reset(token)
    assert formatter.format(record).endswith("portal.test [req-plain]: hello")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LOG_FORMAT", "yaml", "LOG_FORMAT='yaml': use plain or json"),
        ("METRICS_ALLOWED_NETWORKS", "10.0.0.0/8,not-a-net", "METRICS_ALLOWED_NETWORKS"),
    ],
)
def test_bad_observability_settings_stop_start_up(name, value, message):
    import os
    import subprocess

    from tests.celery_worker import ROOT

    env = {**os.environ, name: value}
    done = subprocess.run(
        [sys.executable, "-c", "import portal.settings"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and message in done.stderr
