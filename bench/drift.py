"""Drift job: the portal's end-to-end drift run against a bare Evidently `Report.run`.

    .venv/bin/python bench/drift.py [--rows 1000000] [--reference-rows 200000] [--repeat 1]

Data: --rows logged predictions of one deployment in `deployments_predictionlog` of a PostgreSQL
bench database (BENCH_DATABASE_URL, default
postgresql://postgres:postgres@127.0.0.1:5432/portal_bench_drift; created and migrated when
missing, filled with COPY, reused while it holds the same rows), 15 numeric and 5 categorical
inputs, 8 numeric and 3 categorical of them shifted; a --reference-rows reference drawn
unshifted, written as a parquet file (as a dataset version's file would be).

Each side runs in its own fresh subprocess, so each peak memory is its own:

- portal: read the reference parquet, `load_window` (one COPY from the log), `run_drift` with
          the HTML report written, the summary serialised to JSON and stored with one UPDATE of
          a drift report row. All of it is timed.
- bare:   both frames built in memory (the current window from the same seeded generator, the
          reference from the same parquet file; not timed), then only
          `Report([DataDriftPreset(...)]).run(current, reference)` with the same options.

Times are wall-clock seconds after imports; memory is the child's peak resident set (VmHWM),
which for the bare side includes its two frames. Both sides must find the same drifted columns
and the same share (checked). Floors: portal/bare time <= 1.25 and peak memory <= 1.5.
Exits non-zero when a floor or the agreement check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres:postgres@127.0.0.1:5432/portal_bench_drift"
)
TIME_FLOOR = 1.25
MEMORY_FLOOR = 1.5
SEED = 20260601
NUMERIC = [f"num_{i:02d}" for i in range(15)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
COLUMNS = [*NUMERIC, *CATEGORICAL]
SHIFTED = {*NUMERIC[:8], *CATEGORICAL[:3]}
DRIFT_SHARE = 0.5
SLUG = "bench-drift"


# -- data ---------------------------------------------------------------------------------------


def make_frame(rows: int, *, shifted: bool, seed: int):
    """Deterministic inputs; categories share one str object per level, as a reader makes them."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    data = {}
    for i, name in enumerate(NUMERIC):
        loc, scale = float(i), 1.0 + i % 4
        if shifted and name in SHIFTED:
            loc += 0.5 * scale
        data[name] = np.round(rng.normal(loc, scale, rows), 4)
    for i, name in enumerate(CATEGORICAL):
        levels = np.array([f"{name}_level_{j}" for j in range(3 + 6 * i)], dtype=object)
        weights = 1.0 / np.arange(1, len(levels) + 1)
        if shifted and name in SHIFTED:
            weights = weights[::-1]
        data[name] = levels[rng.choice(len(levels), rows, p=weights / weights.sum())]
    return pd.DataFrame(data)


def current_frame(rows: int):
    return make_frame(rows, shifted=True, seed=SEED)


def reference_frame(rows: int):
    return make_frame(rows, shifted=False, seed=SEED + 1)


def _env() -> dict:
    return {
        **os.environ, "DATABASE_URL": DB_URL, "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40, "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }  # fmt: skip


SETUP_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from apps.core.models import Project
from apps.core.services.projects import project_create
from apps.deployments.models import Deployment, Revision
from apps.monitoring.models import DriftReport, Monitor
from apps.registry.models import ModelVersion, RegisteredModel
deployment = Deployment.objects.filter(slug=SLUG).first()
if deployment is None:
    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password")
    project = project_create(creator=user, slug=SLUG, name="Bench drift")
    model = RegisteredModel.objects.create(project=project, name=SLUG)
    version = ModelVersion.objects.create(registered_model=model, version=1,
        mlflow_run_id="bench", source="models:/bench-drift/1", stage="production")
    deployment = Deployment.objects.create(project=project, registered_model=model,
        environment="production", slug=SLUG)
    revision = Revision.objects.create(deployment=deployment, number=1, strategy="direct",
        stable=version, action="deploy")
    Deployment.objects.filter(pk=deployment.pk).update(current_revision=revision)
    monitor = Monitor.objects.create(project=project, deployment=deployment, name="drift",
        schedule_minutes=0)
    DriftReport.objects.create(monitor=monitor)
deployment.refresh_from_db()
report = DriftReport.objects.filter(monitor__deployment=deployment).first()
print(json.dumps({"deployment": deployment.pk, "revision": deployment.current_revision_id,
    "version": deployment.current_revision.stable_id, "report": report.pk}))
"""


def prepare_database() -> dict:
    """The bench database, migrated, with one deployment, its monitor and a drift report row."""
    from bench.common import ensure_database

    ensure_database(DB_URL)
    manage = [sys.executable, str(ROOT / "manage.py")]
    # No system checks: the bench needs the tables, not every app's URLs to import.
    migrate = [*manage, "migrate", "-v", "0", "--skip-checks"]
    subprocess.run(migrate, env=_env(), check=True, cwd=ROOT)
    out = subprocess.run(
        [*manage, "shell", "-c", f"SLUG = {SLUG!r}\n{SETUP_SCRIPT}"],
        env=_env(), check=True, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def fill_log(ids: dict, rows: int) -> tuple[str, float]:
    """The window in the prediction log (reused when it is already there); returns its start."""
    import io

    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pv
    from psycopg import sql

    marker = f"bench-{SEED}-{rows}-0"
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        count, found = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE request_id = %s)"
            " FROM deployments_predictionlog WHERE deployment_id = %s",
            [marker, ids["deployment"]],
        ).fetchone()
        started = time.perf_counter()
        if (count, found) != (rows, 1):
            frame = current_frame(rows)
            frame.insert(0, "i", range(rows))
            buffer = io.BytesIO()
            pv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buffer)
            del frame
            columns = ", ".join(
                f"{c} {'double precision' if c in NUMERIC else 'text'}" for c in COLUMNS
            )
            conn.execute("TRUNCATE deployments_predictionlog")
            with conn.transaction():
                conn.execute(f"CREATE TEMP TABLE bench_rows (i bigint, {columns})")
                with conn.cursor().copy("COPY bench_rows FROM STDIN (FORMAT csv, HEADER)") as cp:
                    cp.write(buffer.getbuffer())
                del buffer
                # Newest first is i = 0; a row every 3 ms, as a busy endpoint would log them.
                inputs = sql.SQL(", ").join(
                    sql.SQL("{}, {}").format(sql.Literal(c), sql.Identifier(c)) for c in COLUMNS
                )
                insert = sql.SQL(
                    "INSERT INTO deployments_predictionlog (deployment_id, revision_id,"
                    " model_version_id, request_id, row, shadow, inputs, output, error,"
                    " latency_ms, created_at, label)"
                    " SELECT %s, %s, %s, %s::text || i, 0, false, jsonb_build_object({}),"
                    " to_jsonb(CASE WHEN num_00 > 0 THEN 'yes' ELSE 'no' END), '',"
                    " 2 + (i %% 7), now() - i * interval '3 milliseconds', NULL FROM bench_rows"
                ).format(inputs)
                conn.execute(
                    insert,
                    [ids["deployment"], ids["revision"], ids["version"], marker[:-1]],
                )
                conn.execute("DROP TABLE bench_rows")
            # Hint bits and statistics now, so the timed read does not pay for them.
            conn.execute("VACUUM ANALYZE deployments_predictionlog")
        since = conn.execute(
            "SELECT min(created_at) FROM deployments_predictionlog WHERE deployment_id = %s",
            [ids["deployment"]],
        ).fetchone()[0]
    return since.isoformat(), time.perf_counter() - started


# -- children -------------------------------------------------------------------------------------


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class _Phases:
    """Wall time per named phase; wraps library calls so the code measured is unchanged."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, owner, attr: str, name: str) -> None:
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

        setattr(owner, attr, timed)


def child_portal(args: argparse.Namespace) -> dict:
    from datetime import datetime

    import psycopg
    import pyarrow.parquet as pq
    from evidently import Report
    from evidently.core.report import Snapshot

    from workers.drift import report as drift_report
    from workers.drift.report import run_drift
    from workers.drift.window import load_window

    phases = _Phases()
    phases.wrap(Report, "run", "evidently run")
    phases.wrap(Snapshot, "dict", "snapshot dict")
    phases.wrap(Snapshot, "save_html", "save html")
    phases.wrap(drift_report, "summarise_columns", "summarise")
    since = datetime.fromisoformat(args.since)
    html = Path(args.tmp) / "report.html"
    with psycopg.connect(DB_URL) as conn:
        conn.execute("SELECT 1")
        after_imports = _rss_kib("VmRSS")
        started = time.perf_counter()
        mark = started
        reference = pq.read_table(args.reference).to_pandas()
        phases.seconds["reference parquet"] = time.perf_counter() - mark
        mark = time.perf_counter()
        current = load_window(conn, deployment_id=args.deployment, since=since, columns=COLUMNS)
        phases.seconds["load_window"] = time.perf_counter() - mark
        peak_loaded = _rss_kib("VmHWM")
        mark = time.perf_counter()
        summary = run_drift(
            reference, current, columns=COLUMNS, drift_share=DRIFT_SHARE, html_path=str(html)
        )
        phases.seconds["run_drift"] = time.perf_counter() - mark
        mark = time.perf_counter()
        data = summary.as_dict()
        columns_json = json.dumps(data["columns"])
        conn.execute(
            "UPDATE monitoring_driftreport SET status = %s, rows_reference = %s,"
            " rows_current = %s, dataset_drift = %s, drift_share = %s, drifted_columns = %s,"
            " drift_share_threshold = %s, columns = %s::jsonb, performance = %s::jsonb,"
            " html_path = %s, finished_at = now() WHERE id = %s",
            [
                summary.status, summary.rows_reference, summary.rows_current,
                summary.dataset_drift, summary.drift_share, summary.drifted_columns, DRIFT_SHARE,
                columns_json, json.dumps(data["performance"]), str(html), args.report,
            ],
        )  # fmt: skip
        conn.commit()
        phases.seconds["store"] = time.perf_counter() - mark
        elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "after_imports_kib": after_imports,
        "peak_kib": _rss_kib("VmHWM"),
        "phases": phases.seconds,
        "peak_loaded_kib": peak_loaded,
        "rows": [summary.rows_current, summary.rows_reference],
        "html_mib": html.stat().st_size / 2**20,
        "drifted": sorted(summary.drifted),
        "share": summary.drift_share,
        "scores": {c.column: c.score for c in summary.columns},
    }


def child_bare(args: argparse.Namespace) -> dict:
    import pyarrow.parquet as pq
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    after_imports = _rss_kib("VmRSS")
    current = current_frame(args.rows)
    reference = pq.read_table(args.reference).to_pandas()
    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    report = Report([DataDriftPreset(columns=COLUMNS, drift_share=DRIFT_SHARE)], include_tests=True)
    started = time.perf_counter()
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    elapsed = time.perf_counter() - started
    peak = _rss_kib("VmHWM")
    result = snapshot.dict()
    metrics = result["metrics"]
    count = next(m for m in metrics if m["config"]["type"].endswith(":DriftedColumnsCount"))
    failed = {t["metric_config"]["metric_id"] for t in result["tests"] if t["status"] == "FAIL"}
    drift = [m for m in metrics if m["config"]["type"].endswith(":ValueDrift")]
    return {
        "seconds": elapsed,
        "after_imports_kib": after_imports,
        "peak_kib": peak,
        "rows": [len(current), len(reference)],
        "drifted": sorted(m["config"]["column"] for m in drift if m["id"] in failed),
        "share": count["value"]["share"],
        "scores": {m["config"]["column"]: m["value"] for m in drift},
    }


def run_child(which: str, args: argparse.Namespace, extra: dict) -> dict:
    command = [sys.executable, __file__, "--child", which, "--rows", str(args.rows)]
    for key, value in extra.items():
        command += [f"--{key}", str(value)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    out = dict(runs[0])
    for key in ("seconds", "peak_kib", "after_imports_kib"):
        out[key] = statistics.median(run[key] for run in runs)
    return out


def agreement(portal: dict, bare: dict) -> list[str]:
    """What differs between the two verdicts; empty when they agree."""
    problems = []
    if portal["drifted"] != bare["drifted"]:
        problems.append(f"drifted columns differ: {portal['drifted']} vs {bare['drifted']}")
    if abs(portal["share"] - bare["share"]) > 1e-12:
        problems.append(f"drift share differs: {portal['share']} vs {bare['share']}")
    for column, score in bare["scores"].items():
        mine = portal["scores"].get(column)
        if mine is None or abs(mine - score) > 1e-9 * max(1.0, abs(score)):
            problems.append(f"{column}: score {mine} vs {score}")
    return problems


# -- main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="logged predictions")
    parser.add_argument("--reference-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per side (median is kept)")
    parser.add_argument("--child", choices=["portal", "bare"], help=argparse.SUPPRESS)
    for hidden in ("reference", "since", "tmp", "deployment", "report"):
        parser.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.deployment:
            args.deployment, args.report = int(args.deployment), int(args.report)
        child = child_portal if args.child == "portal" else child_bare
        print(json.dumps(child(args)))
        return 0

    ids = prepare_database()
    since, fill_seconds = fill_log(ids, args.rows)
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        import pyarrow as pa
        import pyarrow.parquet as pq

        reference = Path(tmp) / "reference.parquet"
        pq.write_table(
            pa.Table.from_pandas(reference_frame(args.reference_rows), preserve_index=False),
            reference,
        )
        print(
            f"data: {args.rows:,} logged predictions x {len(COLUMNS)} inputs "
            f"({len(NUMERIC)} numeric, {len(CATEGORICAL)} categorical; {len(SHIFTED)} shifted) "
            f"in {DB_URL.rsplit('/', 1)[1]} (ready in {fill_seconds:.1f} s), reference "
            f"{args.reference_rows:,} rows as parquet; {args.repeat} alternating run(s) per side"
        )
        runs: dict[str, list[dict]] = {"portal": [], "bare": []}
        extra = {
            "portal": {"reference": reference, "since": since, "tmp": tmp,
                       "deployment": ids["deployment"], "report": ids["report"]},
            "bare": {"reference": reference},
        }  # fmt: skip
        for _ in range(args.repeat):
            for name in runs:  # alternate, so a noisy moment hits both sides
                runs[name].append(run_child(name, args, extra[name]))

    portal, bare = _median(runs["portal"]), _median(runs["bare"])
    print(f"{'':8} {'wall s':>8} {'peak RSS MiB':>13} {'RSS after imports MiB':>22}   runs (s)")
    for name, r in (("portal", portal), ("bare", bare)):
        each = " ".join(f"{run['seconds']:.2f}" for run in runs[name])
        print(
            f"{name:8} {r['seconds']:8.2f} {r['peak_kib'] / 1024:13.1f} "
            f"{r['after_imports_kib'] / 1024:22.1f}   {each}"
        )
    phases = ", ".join(f"{k} {v:.2f}" for k, v in runs["portal"][-1]["phases"].items())
    print(f"portal phases (s, last run): {phases}; HTML {portal['html_mib']:.1f} MiB")
    loaded = runs["portal"][-1]["peak_loaded_kib"] / 1024
    print(f"portal peak RSS once the window is loaded (last run): {loaded:.1f} MiB")
    last = runs["portal"][-1]
    outside = last["seconds"] - last["phases"]["evidently run"]
    print(
        f"portal outside Evidently's Report.run (last run): {outside:.2f} s = "
        f"{outside / bare['seconds']:.2f} of the bare run; its Report.run "
        f"{last['phases']['evidently run']:.2f} s (text columns as categories) against bare's "
        f"{bare['seconds']:.2f} s (Dataset.from_pandas and Report.run, text columns as objects)"
    )
    print("bare peak RSS includes its two frames, built before the timed Report.run")
    time_ratio = portal["seconds"] / bare["seconds"]
    memory_ratio = portal["peak_kib"] / bare["peak_kib"]
    time_ok, memory_ok = time_ratio <= TIME_FLOOR, memory_ratio <= MEMORY_FLOOR
    print(
        f"time ratio   portal/bare = {time_ratio:.2f}  (floor <= {TIME_FLOOR}: "
        f"{'PASS' if time_ok else 'FAIL'})"
    )
    print(
        f"memory ratio portal/bare = {memory_ratio:.2f}  (floor <= {MEMORY_FLOOR}: "
        f"{'PASS' if memory_ok else 'FAIL'})"
    )
    problems = [p for run in runs["portal"] for p in agreement(run, bare)]
    print(
        f"results: rows {portal['rows']} vs {bare['rows']}; drifted {len(bare['drifted'])} of "
        f"{len(COLUMNS)} (share {bare['share']:.2f}): "
        + ("same columns, share and scores on both sides" if not problems else "DIFFER")
    )
    for problem in problems:
        print(f"  {problem}")
    return 0 if time_ok and memory_ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
