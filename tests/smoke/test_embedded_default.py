"""`make run`'s path on the embedded default: SQLite, a local MLflow store and a folder broker.

No PostgreSQL or Redis is involved: the variables that would select them are removed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(var_dir: Path, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "MLFLOW_TRACKING_URI", "ARTIFACT_ROOT"}
        and not k.startswith("DJANGO_")
    }
    env.update(VAR_DIR=str(var_dir), PORT=str(port), WEB_CONCURRENCY="1", WORKER_CONCURRENCY="1")
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _request(url: str, *, data: dict | None = None, token: str = "") -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_embedded_default_sets_up_idempotently_and_serves(tmp_path):
    var_dir, port = tmp_path / "var", _free_port()
    env = _env(var_dir, port)

    first = _manage(env, "portal_setup")
    assert "demo admin 'admin': created" in first and "demo project 'demo': created" in first
    second = _manage(env, "portal_setup")
    assert "demo admin 'admin': exists" in second and "demo project 'demo': exists" in second
    with sqlite3.connect(var_dir / "portal.sqlite3") as db:
        assert db.execute("select count(*) from auth_user").fetchone() == (1,)
        assert db.execute("select count(*) from core_project").fetchone() == (1,)
        assert db.execute("select count(*) from core_membership").fetchone() == (1,)
    assert (var_dir / "mlflow.db").exists()

    log = open(tmp_path / "runportal.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runportal"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _request(base + "/healthz")[0] == 200, 60, "/healthz")
        status, ready = _request(base + "/readyz")
        assert status == 200, ready
        assert ready["checks"] == {"database": "ok", "broker": "ok", "mlflow": "ok"}

        status, issued = _request(
            base + "/api/v1/auth/token/", data={"username": "admin", "password": "portal-demo"}
        )
        assert status == 201, issued
        token = issued["token"]
        status, job = _request(
            base + "/api/v1/jobs/",
            data={"project": "demo", "kind": "core.diagnostic.gpu", "params": {"seconds": 0.2}},
            token=token,
        )
        assert status == 201, job
        job_url = f"{base}/api/v1/jobs/{job['id']}/"
        _wait(
            lambda: _request(job_url, token=token)[1]["status"] == "succeeded",
            60,
            "the diagnostic job to succeed on the embedded worker",
        )

        # A notebook logs to the embedded MLflow store; the runs table (SQLite) sorts by metric.
        script = (
            "import mlflow\n"
            "mlflow.set_experiment('demo/notebook')\n"
            "for name, acc in (('low', 0.2), ('high', 0.9)):\n"
            "    with mlflow.start_run(run_name=name):\n"
            "        mlflow.log_metric('acc', acc)\n"
        )
        tracking = {"MLFLOW_TRACKING_URI": f"sqlite:///{var_dir / 'mlflow.db'}"}
        subprocess.run(
            [sys.executable, "-c", script], cwd=tmp_path, env={**env, **tracking}, check=True
        )
        status, synced = _request(base + "/api/v1/runs/sync/", data={}, token=token)
        assert status == 200 and synced["runs"] == 2, synced
        status, runs = _request(base + "/api/v1/runs/?ordering=-metrics.acc", token=token)
        assert [r["name"] for r in runs["results"]] == ["high", "low"], runs
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = proc.wait(timeout=60)
        log.seek(0)
        output = log.read()
    assert code == 0, output
    assert f"http://127.0.0.1:{port}/" in output and "admin / portal-demo" in output
    assert "stopped web and worker" in output
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    leftover = subprocess.run(["pgrep", "-f", str(var_dir)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", "the worker outlived Ctrl-C"
