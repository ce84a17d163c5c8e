"""A real Celery worker process on Redis for tests: start it, wait for it, stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from apps.core.models import Job

ROOT = Path(__file__).resolve().parents[1]


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Worker:
    def __init__(self, tmp: Path, *, beat: bool = False) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "VAR_DIR": str(tmp),
            "ARTIFACT_ROOT": settings.ARTIFACT_ROOT,
            "MLFLOW_TRACKING_URI": settings.MLFLOW_TRACKING_URI,
            "MLFLOW_ARTIFACT_ROOT": str(settings.MLFLOW_ARTIFACT_ROOT),
            "JOB_HEARTBEAT_SECONDS": "1",
            "JOB_STALE_AFTER_SECONDS": "3",
            "JOB_REAP_INTERVAL_SECONDS": "1",
        }
        cmd = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", "default,gpu"]
        cmd += ["--pool", "solo", "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"]
        cmd += ["--without-gossip", "--without-mingle", "--loglevel", "info"]
        if beat:
            cmd += ["--beat", "--schedule", str(tmp / "beat-schedule")]
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=self._read, daemon=True).start()
        wait_for(lambda: any("ready." in line for line in self.lines), 60, self.log)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def log(self) -> str:
        return "".join(self.lines[-40:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for(condition: Callable[[], bool], timeout: float, describe=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s\n{describe()}")


def status(job: Job) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job.pk)


@pytest.fixture
def workers(tmp_path) -> Iterator[Callable[..., Worker]]:
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "make test runs Celery on Redis"
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    started: list[Worker] = []

    def start(**kwargs) -> Worker:
        worker = Worker(tmp_path, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
