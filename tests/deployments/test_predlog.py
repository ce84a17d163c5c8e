"""The prediction log writer: batches by size and by time, retries a refused batch, and loses
nothing on a clean shutdown (SIGTERM) — a crash loses at most the last flush interval."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from apps.deployments.models import PredictionLog
from apps.deployments.predlog import PredictionLogWriter


def rows(n: int, start: int = 0) -> list[dict]:
    return [{"n": i} for i in range(start, start + n)]


def wait_until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_flushes_when_the_batch_is_full():
    written: list[list] = []
    writer = PredictionLogWriter(flush_seconds=3600, batch=10, write=written.append)
    writer.append(rows(9))
    time.sleep(0.1)
    assert written == []
    writer.append(rows(1, start=9))
    assert wait_until(lambda: sum(map(len, written)) == 10)
    assert [r["n"] for batch in written for r in batch] == list(range(10))


def test_flushes_every_interval():
    written: list[list] = []
    writer = PredictionLogWriter(flush_seconds=0.1, batch=10**6, write=written.append)
    writer.append(rows(3))
    assert wait_until(lambda: sum(map(len, written)) == 3, 2)


def test_a_refused_batch_is_kept_and_written_later():
    written: list[list] = []
    failures = [1]

    def write(batch: list) -> None:
        if failures:
            failures.pop()
            raise RuntimeError("database down")
        written.append(batch)

    writer = PredictionLogWriter(flush_seconds=3600, batch=100, write=write)
    writer.append(rows(5))
    assert writer.flush() == 0
    assert len(writer) == 5
    assert writer.flush() == 5
    assert [r["n"] for r in written[0]] == [0, 1, 2, 3, 4]


SERVER = """
import os, sys, time
import django
django.setup()
from django.utils import timezone
from apps.deployments import predlog
deployment_id, count = int(sys.argv[1]), int(sys.argv[2])
now = timezone.now()
for i in range(count):
    predlog.record([{"deployment_id": deployment_id, "revision_id": 1, "model_version_id": 1,
                     "request_id": f"r{i}", "row": 0, "inputs": {"x": i}, "output": i,
                     "latency_ms": 1.0, "created_at": now}])
time.sleep(float(sys.argv[3]))
print("ready", flush=True)
time.sleep(60)
"""


def serve_in_subprocess(deployment_id: int, count: int, settle: float, flush_seconds: float):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": "postgresql://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(
            **connection.settings_dict
        ),
        "PREDICTION_LOG_FLUSH_SECONDS": str(flush_seconds),
        "PREDICTION_LOG_BATCH": "100000",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(deployment_id), str(count), str(settle)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read()
    return proc


@pytest.mark.django_db(transaction=True)
def test_sigterm_flushes_everything(deployment_factory):
    deployment, _ = deployment_factory()
    # A long interval: nothing is written until the process is told to stop.
    proc = serve_in_subprocess(deployment.pk, 2000, 0.2, flush_seconds=600)
    assert PredictionLog.objects.count() == 0
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGTERM
    assert PredictionLog.objects.filter(deployment=deployment).count() == 2000
    assert set(PredictionLog.objects.values_list("request_id", flat=True)) == {
        f"r{i}" for i in range(2000)
    }


@pytest.mark.django_db(transaction=True)
def test_sigkill_loses_at_most_the_last_interval(deployment_factory):
    deployment, _ = deployment_factory()
    # Rows older than the flush interval are written by the time of the crash.
    proc = serve_in_subprocess(deployment.pk, 300, 1.0, flush_seconds=0.2)
    proc.kill()
    proc.wait(timeout=30)
    assert PredictionLog.objects.filter(deployment=deployment).count() == 300
