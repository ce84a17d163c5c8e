"""Runs list: the portal's runs table against MLflow's own search, on the same tracking store.

    .venv/bin/python bench/runs_list.py [--runs 5000] [--metrics 20] [--repeat 60]
                                        [--store postgresql|sqlite] [--fresh]

Builds a tracking store of --runs runs x --metrics metrics (and 6 parameters) in one experiment,
mirrors it into the portal (the full sync the periodic task runs; its time is printed), then, in
one process and alternating, --repeat times each:

- portal: `GET /api/v1/runs/?project=bench&ordering=-metrics.m07` through Django's test client
          with a real API token: middleware, authentication, project scoping, the query, its
          count, serialisation and JSON rendering of the first page of 50;
- mlflow: `mlflow.search_runs(experiment_ids=[...], order_by=["metrics.m07 DESC"],
          max_results=50)` on the same store (the anchor); `MlflowClient.search_runs` (without
          the pandas frame) is printed too, for information.

The portal's database is PostgreSQL (DATABASE_URL, default a `portal_bench` database on the
local server); the store is PostgreSQL too by default (`portal_bench_mlflow`, the production
setup: an MLflow server on Postgres) or a SQLite file with --store sqlite. The generated store is
kept between runs and rebuilt with --fresh. Floor: portal median <= mlflow median (ratio <= 1.0),
and a constant number of queries per page (the test suite asserts it; printed here). Exits
non-zero when the floor does not hold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database  # noqa: E402

PG = "postgres:postgres@127.0.0.1:5432"
EXPERIMENT = "bench/runs"
SORT_METRIC = "m07"
FLOOR = 1.0


def _store_uri(kind: str, fresh: bool) -> str:
    if kind == "sqlite":
        path = Path(tempfile.gettempdir()) / "portal-bench-mlflow.db"
        if fresh and path.exists():
            path.unlink()
        return f"sqlite:///{path}"
    ensure_database(f"postgresql://{PG}/portal_bench_mlflow", fresh=fresh)
    return f"postgresql+psycopg://{PG}/portal_bench_mlflow"


def _fill_store(client, runs: int, metrics: int) -> str:
    """One experiment of `runs` finished runs; each has `metrics` metrics at 3 steps (so the
    store also holds histories, as real stores do) and 6 parameters."""
    from mlflow.entities import Metric, Param

    found = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = found.experiment_id if found else client.create_experiment(EXPERIMENT)
    have = len(client.search_runs([experiment_id], max_results=runs))
    if have >= runs:
        return experiment_id
    print(f"filling the tracking store: {runs - have} runs x {metrics} metrics ...", flush=True)
    started = time.perf_counter()

    def one(i: int) -> None:
        run = client.create_run(experiment_id, run_name=f"run-{i:05d}")
        now = int(time.time() * 1000)
        points = [
            Metric(f"m{k:02d}", ((i * 7919 + k * 104729) % 10007) / 10007 + step, now, step)
            for k in range(metrics)
            for step in range(3)
        ]
        params = [Param(f"p{k}", str((i + k) % 13)) for k in range(6)]
        client.log_batch(run.info.run_id, metrics=points, params=params)
        client.set_terminated(run.info.run_id, "FINISHED")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(have, runs)))
    print(f"  filled in {time.perf_counter() - started:.0f} s", flush=True)
    return experiment_id


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--store", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--fresh", action="store_true", help="rebuild the generated store")
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", f"postgresql://{PG}/portal_bench")
    os.environ["MLFLOW_TRACKING_URI"] = _store_uri(args.store, args.fresh)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("VAR_DIR", str(Path(tempfile.gettempdir()) / "portal-bench-var"))
    ensure_database(os.environ["DATABASE_URL"], fresh=args.fresh)

    import django

    django.setup()
    import mlflow
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from apps.core.models import Project
    from apps.core.services.projects import project_create
    from apps.core.services.tokens import api_token_create
    from apps.experiments.services.runs import runs_sync

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    uri = settings.MLFLOW_TRACKING_URI
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment_id = _fill_store(client, args.runs, args.metrics)

    user, _ = get_user_model().objects.get_or_create(username="bench")
    if not Project.objects.filter(slug="bench").exists():
        project_create(creator=user, slug="bench", name="Bench")
    started = time.perf_counter()
    synced = runs_sync(full=True)
    elapsed = time.perf_counter() - started
    print(f"portal full sync of the store: {synced.runs} runs in {elapsed:.1f} s")

    _, key = api_token_create(user=user)
    web = Client(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/runs/?project=bench&ordering=-metrics.{SORT_METRIC}"
    mlflow.set_tracking_uri(uri)
    order_by = [f"metrics.{SORT_METRIC} DESC"]

    def portal() -> list[str]:
        response = web.get(url)
        assert response.status_code == 200, response.content[:500]
        return [r["mlflow_run_id"] for r in response.json()["results"]]

    def anchor() -> list[str]:
        frame = mlflow.search_runs([experiment_id], order_by=order_by, max_results=50)
        return list(frame["run_id"])

    def bare_client() -> list[str]:
        page = client.search_runs([experiment_id], order_by=order_by, max_results=50)
        return [r.info.run_id for r in page]

    # Same answer first: both return the same 50 runs in the same order (ties aside).
    same = portal() == anchor()
    queries: list[str] = []
    with connection.execute_wrapper(lambda run, sql, *rest: queries.append(sql) or run(sql, *rest)):
        portal()
    contenders = {"portal": portal, "mlflow.search_runs": anchor, "MlflowClient": bare_client}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeat):
        for name, call in contenders.items():
            t0 = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - t0) * 1000)

    print(
        f"\n{args.runs} runs x {args.metrics} metrics, store {args.store}, first page of 50 "
        f"sorted by metrics.{SORT_METRIC} desc, {args.repeat} calls each (ms):"
    )
    for name, values in times.items():
        print(
            f"  {name:20s} median {statistics.median(values):7.2f}  "
            f"p95 {_percentile(values, 0.95):7.2f}  min {min(values):7.2f}"
        )
    ratio = statistics.median(times["portal"]) / statistics.median(times["mlflow.search_runs"])
    print(f"  same 50 runs in the same order: {same}")
    print(f"  portal queries per page: {len(queries)}")
    print(f"ratio portal / mlflow.search_runs (medians): {ratio:.3f}  (floor <= {FLOOR})")
    return 0 if ratio <= FLOOR else 1


if __name__ == "__main__":
    sys.exit(main())
