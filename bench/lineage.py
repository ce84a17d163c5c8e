"""Lineage: the portal's lineage API on a generated estate of 10,000 nodes, against `GET
/api/v1/me/` (a trivial authenticated call) as the yardstick.

    .venv/bin/python bench/lineage.py [--repeat 200] [--fresh]

Builds (once; kept between runs, rebuilt with --fresh) an estate in a PostgreSQL bench database
(BENCH_DATABASE_URL, default postgresql://postgres:postgres@127.0.0.1:5432/portal_bench_lineage,
created and migrated when missing), bulk-inserted:

- 2,000 dataset versions (50 datasets x 40), 2,925 training jobs and as many model versions,
  1,525 deployment revisions and 825 deployments, about 10,300 nodes in all;
- one "hot" dataset version with exactly 500 descendants: 125 training jobs → 125 model
  versions → 125 revisions → 125 deployments;
- one "long-lived" deployment with 12 revisions of 12 versions trained on 12 dataset versions.

Then, in one process and alternating, --repeat times each, through Django's test client with a
real API token (middleware, authentication, the walk, scoping, JSON rendering):

- downstream: `GET /api/v1/lineage/?node=dataset_version:HOT&direction=downstream`
- upstream:   `GET /api/v1/lineage/?node=deployment:LONG&direction=upstream`
- yardstick:  `GET /api/v1/me/`

Prints p50 and p95 per call, the queries per call, and each lineage p95 over the yardstick's
p95. Floor: both ratios <= 5.0. Exits non-zero when the floor does not hold.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import ensure_database  # noqa: E402

DEFAULT_DB = "postgresql://postgres:postgres@127.0.0.1:5432/portal_bench_lineage"
FLOOR = 5.0
SLUG = "bench-lineage"
HOT_CHILDREN = 125  # x4 kinds (job, version, revision, deployment) = 500 descendants
LONG_REVISIONS = 12


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _build(user) -> dict[str, int]:
    """The estate, bulk-inserted; returns the hot dataset version and the long-lived deployment."""
    from django.db import transaction
    from django.utils import timezone

    from apps.core.models import Job
    from apps.core.services.projects import project_create
    from apps.datasets.models import Dataset, DatasetVersion
    from apps.deployments.models import Deployment, Revision
    from apps.experiments.models import Experiment, TrainingJob
    from apps.registry.models import ModelVersion, RegisteredModel

    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():  # all or nothing: a half-built estate is never reused
        project = project_create(creator=user, slug=SLUG, name="Bench lineage")
        datasets = Dataset.objects.bulk_create(
            Dataset(project=project, name=f"data-{i:02d}") for i in range(50)
        )
        dvs = DatasetVersion.objects.bulk_create(
            DatasetVersion(dataset=d, version=v + 1, status="ready", content_hash=f"{d.pk}-{v}",
                           size_bytes=1000, format="csv", filename="data.csv", processed_at=now)
            for d in datasets for v in range(40)
        )  # fmt: skip
        experiment = Experiment.objects.create(project=project, name="bench")
        hot, others = dvs[0], dvs[1:]
        # (dataset version, registered model index) per training job; model 0..124 are hot
        plan = [(hot, i) for i in range(HOT_CHILDREN)]
        plan += [(others[i % len(others)], HOT_CHILDREN + i % 700) for i in range(2800)]
        models = RegisteredModel.objects.bulk_create(
            RegisteredModel(project=project, name=f"bench-model-{i:04d}")
            for i in range(HOT_CHILDREN + 700)
        )
        jobs = Job.objects.bulk_create(
            Job(project=project, kind="training", queue="gpu", status="succeeded", progress=1.0)
            for _ in plan
        )
        tjs = TrainingJob.objects.bulk_create(
            TrainingJob(job=job, experiment=experiment, dataset_version=dv, target="label",
                        task="classification", template="mlp", model_name=models[m].name)
            for job, (dv, m) in zip(jobs, plan, strict=True)
        )  # fmt: skip
        counters: dict[int, int] = {}
        mvs = []
        for tj, (dv, m) in zip(tjs, plan, strict=True):
            counters[m] = counters.get(m, 0) + 1
            mvs.append(ModelVersion(
                registered_model=models[m], version=counters[m], mlflow_run_id=f"run{tj.pk}",
                source=f"runs:/run{tj.pk}/model", training_job=tj, dataset_version=dv,
            ))  # fmt: skip
        mvs = ModelVersion.objects.bulk_create(mvs)
        # One deployment per registered model (825); the hot models' deployments serve the
        # hot versions; every other deployment has two revisions of two of its model's versions.
        deployments = Deployment.objects.bulk_create(
            Deployment(project=project, registered_model=m, environment="staging",
                       slug=f"bench-{m.name}")
            for m in models
        )  # fmt: skip
        by_model: dict[int, list] = {}
        for mv in mvs:
            by_model.setdefault(mv.registered_model_id, []).append(mv)
        revisions = []
        for dep, model in zip(deployments, models, strict=True):
            versions = by_model[model.pk]
            count = 1 if len(versions) == 1 else 2
            for n in range(count):
                revisions.append(Revision(deployment=dep, number=n + 1, strategy="direct",
                                          stable=versions[n], action="deploy"))  # fmt: skip
        # The long-lived deployment: LONG_REVISIONS revisions of versions on distinct data.
        long_dep = deployments[-1]
        long_model = models[-1]
        long_versions = by_model[long_model.pk]
        revisions = [r for r in revisions if r.deployment is not long_dep]
        for n in range(LONG_REVISIONS):
            revisions.append(Revision(deployment=long_dep, number=n + 1, strategy="direct",
                                      stable=long_versions[n % len(long_versions)],
                                      action="deploy"))  # fmt: skip
        revisions = Revision.objects.bulk_create(revisions)
        current = {}
        for rev in revisions:
            current[rev.deployment_id] = rev.pk
        for dep in deployments:
            dep.current_revision_id = current[dep.pk]
        Deployment.objects.bulk_update(deployments, ["current_revision"], batch_size=500)
    nodes = len(dvs) + len(tjs) + len(mvs) + len(revisions) + len(deployments)
    print(f"built the estate: {nodes} nodes ({len(dvs)} dataset versions, {len(tjs)} jobs, "
          f"{len(mvs)} model versions, {len(revisions)} revisions, {len(deployments)} "
          f"deployments) in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    return {"hot": hot.pk, "long": long_dep.pk}


def _find(user) -> dict[str, int] | None:
    from apps.core.models import Project
    from apps.datasets.models import DatasetVersion
    from apps.deployments.models import Deployment

    project = Project.objects.filter(slug=SLUG).first()
    if project is None:
        return None
    hot = DatasetVersion.objects.filter(dataset__project=project).order_by("pk").first()
    long = Deployment.objects.filter(project=project).order_by("-pk").first()
    return {"hot": hot.pk, "long": long.pk}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--fresh", action="store_true", help="rebuild the generated estate")
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("VAR_DIR", str(Path(tempfile.gettempdir()) / "portal-bench-var"))
    ensure_database(url, fresh=args.fresh)

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from apps.core.services.tokens import api_token_create

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench-lineage")
    found = _find(user) or _build(user)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would give a live database
    _, key = api_token_create(user=user)
    web = Client(HTTP_AUTHORIZATION=f"Token {key}")
    calls = {
        "downstream": ("/api/v1/lineage/", {"node": f"dataset_version:{found['hot']}",
                                            "direction": "downstream"}),
        "upstream": ("/api/v1/lineage/", {"node": f"deployment:{found['long']}",
                                          "direction": "upstream"}),
        "yardstick /me/": ("/api/v1/me/", {}),
    }  # fmt: skip

    sizes: dict[str, str] = {}
    for name, (path, params) in calls.items():
        queries: list[str] = []

        def record(run, sql, *rest, seen=queries):
            seen.append(sql)
            return run(sql, *rest)

        with connection.execute_wrapper(record):
            response = web.get(path, params)
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        shape = (
            f"{len(body['nodes'])} nodes, {len(body['edges'])} edges, " if "nodes" in body else ""
        )
        sizes[name] = f"{shape}{len(queries)} queries"
    for _ in range(10):  # warm-up
        for path, params in calls.values():
            web.get(path, params)
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(args.repeat):
        for name, (path, params) in calls.items():
            t0 = time.perf_counter()
            response = web.get(path, params)
            times[name].append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200

    print(f"\n{args.repeat} calls each, alternating (ms):")
    for name, values in times.items():
        p50, p95 = _percentile(values, 0.5), _percentile(values, 0.95)
        print(f"  {name:16s} p50 {p50:7.2f}  p95 {p95:7.2f}  ({sizes[name]})")
    yardstick = _percentile(times["yardstick /me/"], 0.95)
    ok = True
    for name in ("downstream", "upstream"):
        ratio = _percentile(times[name], 0.95) / yardstick
        verdict = "PASS" if ratio <= FLOOR else "FAIL"
        ok &= ratio <= FLOOR
        print(f"ratio {name} p95 / yardstick p95: {ratio:.2f}  (floor <= {FLOOR})  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
