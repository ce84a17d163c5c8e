"""Mirror MLflow runs into the portal's Run table.

MLflow is the source of truth; the mirror exists so that the runs table can filter and sort by
any metric or parameter in one indexed query per page. Two paths write it:

- a portal job mirrors its own run when it starts and when it ends (`run_mirror`);
- `runs_sync` (a periodic task, and "Sync now") reads the tracking store in pages of 1,000
  runs and upserts them in bulk, so runs logged by scripts and notebooks show up too.

An MLflow experiment belongs to a project when its name is `project-slug/experiment-name`
(the name the portal gives the experiments it creates); others are left out of the portal.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from apps.core.models import Project
from apps.core.services.audit import audit_record
from apps.datasets.models import DatasetVersion
from apps.experiments.models import Experiment, Run, RunStatus, TrainingJob

log = logging.getLogger(__name__)

PAGE = 1000
RUN_ID = re.compile(r"[0-9a-f]{1,64}")
# Incremental syncs look back this far before the newest time already mirrored, so runs whose
# clocks lag a little, or that were written while a sync was reading, are not missed.
LOOKBACK = timedelta(minutes=10)
UPDATE_FIELDS = [
    "experiment", "name", "status", "external", "training_job", "dataset_version", "template",
    "user", "params", "metrics", "tags", "start_time", "end_time", "synced_at",
]  # fmt: skip
TAG_LIMIT = 500  # characters kept per tag value; MLflow notes can be long


@dataclass
class SyncResult:
    experiments: int = 0
    runs: int = 0
    deleted: int = 0
    created_experiments: list[str] = field(default_factory=list)
    unmapped_experiments: list[str] = field(default_factory=list)
    full: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "experiments": self.experiments,
            "runs": self.runs,
            "deleted": self.deleted,
            "created_experiments": self.created_experiments,
            "unmapped_experiments": self.unmapped_experiments[:50],
        }


def _time(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    # JSON (and PostgreSQL's jsonb) have no NaN or infinity: such a value is left out.
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)}


def _int_tag(tags: dict[str, str], name: str) -> int | None:
    value = tags.get(name, "")
    return int(value) if value.isdigit() else None


class _Lookups:
    """The portal rows a page of runs refers to, fetched once per page (not once per run)."""

    def __init__(self, runs: list) -> None:
        tags = [r.data.tags for r in runs]
        job_ids = {i for t in tags if (i := _int_tag(t, "portal.training_job_id"))}
        version_ids = {i for t in tags if (i := _int_tag(t, "portal.dataset_version_id"))}
        self.jobs = {
            j.pk: j.experiment.project_id
            for j in TrainingJob.objects.filter(pk__in=job_ids).select_related("experiment")
        }
        self.versions = dict(
            DatasetVersion.objects.filter(pk__in=version_ids).values_list(
                "pk", "dataset__project_id"
            )
        )


def _row(run, experiment: Experiment, lookups: _Lookups) -> Run:
    tags = run.data.tags
    project_id = experiment.project_id
    job_id = _int_tag(tags, "portal.training_job_id")
    # Ids in tags are only trusted when they point into the run's own project: a script can
    # write any tag, and must not attach its run to another project's job or data.
    job_id = job_id if lookups.jobs.get(job_id) == project_id else None
    version_id = _int_tag(tags, "portal.dataset_version_id")
    version_id = version_id if lookups.versions.get(version_id) == project_id else None
    return Run(
        experiment=experiment,
        mlflow_run_id=run.info.run_id,
        name=(run.info.run_name or "")[:250],
        status=run.info.status if run.info.status in RunStatus.values else RunStatus.FAILED,
        external="portal.training_job_id" not in tags,
        training_job_id=job_id,
        dataset_version_id=version_id,
        template=(run.data.params.get("template") or tags.get("portal.template", ""))[:50],
        user=tags.get("mlflow.user", "")[:200],
        params=dict(run.data.params),
        metrics=_finite(run.data.metrics),
        tags={k: v[:TAG_LIMIT] for k, v in tags.items() if not k.startswith("mlflow.log-model")},
        start_time=_time(run.info.start_time),
        end_time=_time(run.info.end_time),
        synced_at=datetime.now(tz=UTC),
    )


def _upsert(rows: list[Run]) -> None:
    if not rows:
        return
    # One job has one run: when a rerun of the MLflow sync sees a job's run for the first time
    # while another row already claims the job (a run copied by hand), the newer claim wins.
    claimed = [r.training_job_id for r in rows if r.training_job_id]
    with transaction.atomic():
        if claimed:
            Run.objects.filter(training_job_id__in=claimed).exclude(
                mlflow_run_id__in=[r.mlflow_run_id for r in rows]
            ).update(training_job=None)
        Run.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["mlflow_run_id"],
            update_fields=UPDATE_FIELDS,
        )


def experiment_for_mlflow(
    mlflow_experiment,
    *,
    create: bool,
    projects: dict[str, Project] | None = None,
    created: list[str] | None = None,
) -> Experiment | None:
    """The portal experiment of an MLflow experiment: by its id once known, else by the
    `project/name` convention (creating the portal row when `create`)."""
    found = Experiment.objects.filter(mlflow_experiment_id=mlflow_experiment.experiment_id).first()
    if found is not None:
        return found
    slug, sep, name = mlflow_experiment.name.partition("/")
    if not sep or not name or len(name) > 200:
        return None
    project = (projects or {}).get(slug) if projects is not None else None
    if project is None:
        project = Project.objects.filter(slug=slug).first()
    if project is None:
        return None
    experiment = Experiment.objects.filter(project=project, name=name).first()
    if experiment is None:
        if not create:
            return None
        try:
            with transaction.atomic():
                experiment = Experiment.objects.create(project=project, name=name)
                audit_record(
                    actor=None, action="experiment.create", obj=experiment, project=project,
                    changes={"name": name, "source": "mlflow", "mlflow_experiment_id":
                             mlflow_experiment.experiment_id},
                )  # fmt: skip
            if created is not None:
                created.append(mlflow_experiment.name)
        except IntegrityError:  # created meanwhile by a job or another sync
            experiment = Experiment.objects.get(project=project, name=name)
    Experiment.objects.filter(pk=experiment.pk).update(
        mlflow_experiment_id=mlflow_experiment.experiment_id
    )
    experiment.mlflow_experiment_id = mlflow_experiment.experiment_id
    return experiment


def run_mirror(*, run_id: str, client=None) -> Run | None:
    """Mirror one run now (a portal job, at its start and at its end). Best effort: the
    periodic sync repairs whatever this misses, so a tracking-store error is only logged."""
    from apps.core.mlflow_store import tracking_client

    try:
        client = client or tracking_client()
        run = client.get_run(run_id)
        experiment = experiment_for_mlflow(
            client.get_experiment(run.info.experiment_id), create=True
        )
        if experiment is None:
            return None
        _upsert([_row(run, experiment, _Lookups([run]))])
    except Exception:
        log.exception("could not mirror MLflow run %s", run_id)
        return None
    return Run.objects.filter(mlflow_run_id=run_id).first()


def _pages(client, experiment_ids: list[str], filter_string: str = "") -> Iterable[list]:
    token = None
    while True:
        page = client.search_runs(
            experiment_ids, filter_string=filter_string, max_results=PAGE, page_token=token
        )
        yield list(page)
        token = page.token
        if not token:
            return


def _experiments(client) -> Iterable:
    token = None
    while True:
        page = client.search_experiments(max_results=PAGE, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _since() -> datetime | None:
    newest = Run.objects.aggregate(start=Max("start_time"), end=Max("end_time"))
    times = [t for t in newest.values() if t is not None]
    return max(times) - LOOKBACK if times else None


def runs_sync(*, full: bool = False, client=None) -> SyncResult:
    """Bring the mirror in line with the tracking store.

    Incremental (the default, every minute): runs started or ended since the newest time already
    mirrored (less a look-back), and the runs mirrored as still running. Full (hourly, or when
    nothing is mirrored yet): every run, and rows of runs deleted in MLflow are removed."""
    from apps.core.mlflow_store import tracking_client

    client = client or tracking_client()
    since = None if full else _since()
    result = SyncResult(full=since is None)
    projects = {p.slug: p for p in Project.objects.all()}
    mapped: dict[str, Experiment] = {}
    for mlflow_experiment in _experiments(client):
        experiment = experiment_for_mlflow(
            mlflow_experiment, create=True, projects=projects, created=result.created_experiments
        )
        if experiment is None:
            result.unmapped_experiments.append(mlflow_experiment.name)
            continue
        mapped[mlflow_experiment.experiment_id] = experiment
    result.experiments = len(mapped)
    if not mapped:
        return result
    ids = list(mapped)
    seen: set[str] = set()

    def store(page: list) -> None:
        lookups = _Lookups(page)
        rows = [_row(r, mapped[r.info.experiment_id], lookups) for r in page]
        _upsert(rows)
        seen.update(r.mlflow_run_id for r in rows)
        result.runs += len(rows)

    if since is None:
        for page in _pages(client, ids):
            store(page)
        stale = Run.objects.filter(experiment__in=mapped.values()).exclude(mlflow_run_id__in=seen)
        result.deleted, _ = stale.delete()
        return result
    ms = int(since.timestamp() * 1000)
    for clause in (f"attributes.start_time >= {ms}", f"attributes.end_time >= {ms}"):
        for page in _pages(client, ids, clause):
            store([r for r in page if r.info.run_id not in seen])
    running = [
        run_id
        for run_id in Run.objects.filter(status=RunStatus.RUNNING)
        .exclude(mlflow_run_id__in=seen)
        .values_list("mlflow_run_id", flat=True)
        if RUN_ID.fullmatch(run_id)  # it goes into a filter string
    ]
    for chunk in range(0, len(running), 100):
        quoted = ", ".join(f"'{run_id}'" for run_id in running[chunk : chunk + 100])
        for page in _pages(client, ids, f"attributes.run_id IN ({quoted})"):
            store(page)
    return result
