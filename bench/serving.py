"""Online serving: the portal's /serve/<slug>/predict against `mlflow models serve`.

    .venv/bin/python bench/serving.py [--seconds 10] [--workers 2] [--concurrency 1 8 32]

Trains the `mlp` template on a generated 20-input table into a temporary MLflow store and
registers it, then serves that one version two ways on loopback, with the same number of server
processes (--workers) and one torch thread per process:

- mlflow: `mlflow models serve -m models:/bench-mlp/1 --env-manager local -w W` (uvicorn)
- portal: gunicorn (-c portal/gunicorn_conf.py, W workers, 4 threads each, as runportal starts
          it) on a PostgreSQL bench database (BENCH_DATABASE_URL, default
          postgresql://postgres:postgres@127.0.0.1:5432/portal_bench_serving, recreated), with a
          deployment, a direct revision and a serving token; prediction logging on.

Load: wrk (keep-alive connections, fixed concurrency) if installed, else a Python client with
one keep-alive http.client connection per thread; the same single-row `dataframe_split` body
for both, --seconds per level after a warm-up. Prints requests/s, p50 and p99 per side and
level, and the ratios. After each portal level it waits for the log flush and checks that every
answered request is in the prediction log. Floors at concurrency 8: portal requests/s >= 1.5x
MLflow's and portal p99 <= MLflow's. Exits non-zero when a floor or the log check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
INPUTS = [f"x{i:02d}" for i in range(20)]
TOKEN = "bench-serving-token"  # noqa: S105  (a throwaway token for a loopback benchmark)
THROUGHPUT_FLOOR = 1.5
DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres:postgres@127.0.0.1:5432/portal_bench_serving"
)


def make_model(tmp: Path) -> tuple[str, dict]:
    import numpy as np
    import pandas as pd

    from workers.training import TrainSpec, train

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, len(INPUTS)))
    frame = pd.DataFrame(x, columns=INPUTS)
    frame["label"] = np.where(x[:, :5].sum(axis=1) > 0, "yes", "no")
    frame.to_csv(tmp / "data.csv", index=False)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    result = train(
        TrainSpec(
            data_path=tmp / "data.csv", data_format="csv", target="label",
            task="classification", template="mlp",
            params={"epochs": 2, "seed": 1, "device": "cpu"}, experiment="bench-serving",
            model_name="bench-mlp", tracking_uri=uri, artifact_root=str(tmp / "artifacts"),
            tags={},
        )
    )  # fmt: skip
    return uri, result.signature


def prepare_portal(env: dict, signature: dict) -> None:
    """A fresh bench database, migrated, with one deployment of bench-mlp v1."""
    from bench.common import ensure_database

    ensure_database(DB_URL, fresh=True)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    script = f"""
import json
from django.contrib.auth import get_user_model
from apps.core.services.projects import project_create
from apps.deployments.models import Deployment, Revision
from apps.registry.models import ModelVersion, RegisteredModel
user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password")
project = project_create(creator=user, slug="bench", name="Bench")
model = RegisteredModel.objects.create(project=project, name="bench-mlp")
version = ModelVersion.objects.create(registered_model=model, version=1, mlflow_run_id="bench",
    source="models:/bench-mlp/1", signature=json.loads({json.dumps(signature)!r}),
    stage="staging")
deployment = Deployment.objects.create(project=project, registered_model=model,
    environment="staging", slug="bench", token_hash={hashlib.sha256(TOKEN.encode()).hexdigest()!r})
revision = Revision.objects.create(deployment=deployment, number=1, strategy="direct",
    stable=version, action="deploy")
Deployment.objects.filter(pk=deployment.pk).update(current_revision=revision)
"""
    subprocess.run([*manage, "shell", "-c", script], env=env, check=True, cwd=ROOT)


def log_count(env: dict) -> int:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as conn:
        return conn.execute("SELECT count(*) FROM deployments_predictionlog").fetchone()[0]


def wait_ready(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = proc.stderr.read().decode(errors="replace")[-3000:] if proc.stderr else ""
            raise SystemExit(f"server exited with {proc.returncode} before it was ready:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} not ready after {seconds}s")


def wrk(port: int, path: str, body: str, headers: dict, concurrency: int, seconds: int) -> dict:
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    lines.append(
        "done = function(s, latency, r)\n"
        '  io.write(string.format("RESULT %d %d %d %d %f %f\\n", s.requests, s.duration,'
        " s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout,"
        " latency:percentile(50), latency:percentile(99)))\nend"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines))
    threads = min(concurrency, 2)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{seconds}s", "-s",
         script.name, f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    os.unlink(script.name)
    fields = next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1:]
    requests, duration, bad_status, socket_errors = map(int, fields[:4])
    return {
        "requests": requests, "ok": requests - bad_status, "errors": bad_status + socket_errors,
        "rps": requests / (duration / 1e6), "p50": float(fields[4]) / 1000,
        "p99": float(fields[5]) / 1000,
    }  # fmt: skip


def pyclient(port: int, path: str, body: str, headers: dict, concurrency: int, seconds: int):
    """The fallback generator: one keep-alive connection per thread."""
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0}
    lock, stop_at = threading.Lock(), time.monotonic() + seconds

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, ok, bad = [], 0, 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            ok, bad = (ok + 1, bad) if response.status == 200 else (ok, bad + 1)
        with lock:
            latencies.extend(mine)
            counts["ok"] += ok
            counts["errors"] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    total = counts["ok"] + counts["errors"]
    return {
        "requests": total, "ok": counts["ok"], "errors": counts["errors"],
        "rps": total / (time.monotonic() - started),
        "p50": statistics.median(latencies), "p99": latencies[int(0.99 * (len(latencies) - 1))],
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--mlflow-port", type=int, default=18765)
    parser.add_argument("--portal-port", type=int, default=18766)
    args = parser.parse_args()
    load = wrk if shutil.which("wrk") else pyclient
    print(f"load generator: {'wrk' if load is wrk else 'python http.client threads'}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    procs: list[subprocess.Popen] = []
    try:
        tracking_uri, signature = make_model(tmp)
        env = {
            **os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "DATABASE_URL": DB_URL, "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret-key-" + "x" * 40, "LOG_LEVEL": "WARNING",
            "VAR_DIR": str(tmp / "var"), "DJANGO_SETTINGS_MODULE": "portal.settings",
            # mlflow starts uvicorn by name, from PATH.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }  # fmt: skip
        prepare_portal(env, signature)
        body = json.dumps({"dataframe_split": {"columns": INPUTS, "data": [[0.25] * 20]}})
        mlflow_cmd = [
            str(Path(sys.executable).parent / "mlflow"), "models", "serve", "-m",
            "models:/bench-mlp/1", "--env-manager", "local", "-h", "127.0.0.1",
            "-p", str(args.mlflow_port), "-w", str(args.workers),
        ]  # fmt: skip
        portal_cmd = [
            sys.executable, "-m", "gunicorn", "portal.wsgi:application", "-c",
            str(ROOT / "portal" / "gunicorn_conf.py"), "--bind", f"127.0.0.1:{args.portal_port}",
            "--workers", str(args.workers), "--threads", "4", "--graceful-timeout", "10",
        ]  # fmt: skip
        sides = {
            "mlflow": (mlflow_cmd, args.mlflow_port, "/invocations", "/ping", {}),
            "portal": (portal_cmd, args.portal_port, "/serve/bench/predict", "/healthz",
                       {"Authorization": f"Bearer {TOKEN}"}),
        }  # fmt: skip
        results: dict[str, dict[int, dict]] = {}
        log_ok = True
        for side, (cmd, port, path, health, extra) in sides.items():
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
            procs.append(proc)
            wait_ready(f"http://127.0.0.1:{port}{health}", proc)
            headers = {"Content-Type": "application/json", **extra}
            # Warm-up until every worker has its model loaded (the first request of a worker
            # imports torch and mlflow and loads the model: seconds, not measured).
            for _ in range(15):
                warm = load(port, path, body, headers, 8, 2)
                if warm["errors"] == 0 and warm["requests"] and warm["p99"] < 1000:
                    break
            if side == "portal":
                time.sleep(2.5)  # the warm-up's rows are flushed before the first count
            results[side] = {}
            for concurrency in args.concurrency:
                before = log_count(env) if side == "portal" else 0
                result = load(port, path, body, headers, concurrency, args.seconds)
                results[side][concurrency] = result
                line = (f"{side:7s} c={concurrency:<3d} {result['rps']:8.0f} req/s  "
                        f"p50 {result['p50']:6.2f} ms  p99 {result['p99']:6.2f} ms  "
                        f"errors {result['errors']}")  # fmt: skip
                if side == "portal":
                    time.sleep(2.5)  # > PREDICTION_LOG_FLUSH_SECONDS
                    logged = log_count(env) - before
                    # wrk does not count requests still in flight when its time is up; those
                    # were answered and logged too, at most one per connection.
                    found = result["ok"] <= logged <= result["requests"] + concurrency
                    log_ok &= found and result["errors"] == 0
                    line += f"  logged {logged} ({'ok' if found else 'MISSING'})"
                print(line, flush=True)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        print("\nportal / mlflow:")
        for concurrency in args.concurrency:
            p, m = results["portal"][concurrency], results["mlflow"][concurrency]
            print(f"  c={concurrency:<3d} throughput x{p['rps'] / m['rps']:.2f}  "
                  f"p50 x{p['p50'] / m['p50']:.2f}  p99 x{p['p99'] / m['p99']:.2f}")  # fmt: skip
        failures = []
        if 8 in args.concurrency:
            p, m = results["portal"][8], results["mlflow"][8]
            if p["rps"] < THROUGHPUT_FLOOR * m["rps"]:
                failures.append(f"throughput at c=8 below {THROUGHPUT_FLOOR}x MLflow's")
            if p["p99"] > m["p99"]:
                failures.append("p99 at c=8 above MLflow's")
        if not log_ok:
            failures.append("answered predictions missing from the log (or errors)")
        for failure in failures:
            print(f"FLOOR FAILED: {failure}")
        if not failures:
            print("floors hold")
        return 1 if failures else 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
