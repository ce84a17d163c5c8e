"""Reads of the mirrored MLflow runs: the runs table (filter and sort by any metric or parameter
in the database, one query per page plus its count) and the compare view."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, FloatField, OrderBy, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from apps.core.permissions import scope_to_member_projects
from apps.experiments.models import Run

log = logging.getLogger(__name__)

# Columns of the runs table that sort without a key; `metrics.<name>` and `params.<name>` sort
# by any metric (as a number) or parameter (as text, MLflow stores parameters as strings).
PLAIN_ORDERINGS = {
    "start_time": "start_time",
    "end_time": "end_time",
    "name": "name",
    "status": "status",
    "experiment": "experiment__name",
    "template": "template",
}
DEFAULT_ORDERING = "-start_time"
# Heavy JSON of related rows the runs table never shows.
_DEFERRED = (
    "dataset_version__schema",
    "dataset_version__profile",
    "dataset_version__validation",
)


def run_list(*, user: AbstractBaseUser) -> QuerySet[Run]:
    return scope_to_member_projects(
        Run.objects.select_related("experiment__project", "dataset_version__dataset").defer(
            *_DEFERRED
        ),
        user,
        "experiment__project",
    )


def ordering_expression(ordering: str) -> list:
    """ORDER BY terms for one ordering value (already validated by the filter form)."""
    descending = ordering.startswith("-")
    key = ordering.lstrip("-")
    kind, _, name = key.partition(".")
    if kind == "metrics" and name:
        term = Cast(KeyTextTransform(name, "metrics"), FloatField())
    elif kind == "params" and name:
        term = KeyTextTransform(name, "params")
    else:
        term = F(PLAIN_ORDERINGS[key])
    # Runs without the value go last whichever the direction, as in MLflow.
    first = OrderBy(term, descending=descending, nulls_last=True)
    tie = "-id" if descending else "id"
    return [first, tie]


@dataclass
class RunFilters:
    project: str = ""
    experiment: int | None = None
    status: list[str] = field(default_factory=list)
    dataset: int | None = None
    dataset_version: int | None = None
    template: str = ""
    external: bool | None = None
    params: dict[str, str] = field(default_factory=dict)
    search: str = ""
    ordering: str = DEFAULT_ORDERING


def run_search(*, user: AbstractBaseUser, filters: RunFilters) -> QuerySet[Run]:
    runs = run_list(user=user)
    if filters.project:
        runs = runs.filter(experiment__project__slug=filters.project)
    if filters.experiment:
        runs = runs.filter(experiment_id=filters.experiment)
    if filters.status:
        runs = runs.filter(status__in=filters.status)
    if filters.dataset:
        runs = runs.filter(dataset_version__dataset_id=filters.dataset)
    if filters.dataset_version:
        runs = runs.filter(dataset_version_id=filters.dataset_version)
    if filters.template:
        runs = runs.filter(template=filters.template)
    if filters.external is not None:
        runs = runs.filter(external=filters.external)
    if filters.search:
        runs = runs.filter(name__icontains=filters.search)
    for i, (name, value) in enumerate(sorted(filters.params.items())):
        runs = runs.alias(**{f"_param{i}": KeyTextTransform(name, "params")}).filter(
            **{f"_param{i}": value}
        )
    return runs.order_by(*ordering_expression(filters.ordering))


# The task metrics come first in the table; the trainer's bookkeeping numbers last.
FIRST_METRICS = ("accuracy", "f1", "roc_auc", "log_loss", "rmse", "mae", "r2", "val_loss")
LAST_METRICS = ("best_epoch", "best_val_loss", "epochs_run")


def metric_keys(runs: list[Run]) -> list[str]:
    """Metric names of these runs (the table's columns): the most common first, task metrics
    before others, bookkeeping and resources last."""
    counts: dict[str, int] = {}
    for run in runs:
        for key in run.metrics:
            counts[key] = counts.get(key, 0) + 1

    def rank(key: str) -> tuple:
        late = key in LAST_METRICS or key.startswith("resources/")
        first = FIRST_METRICS.index(key) if key in FIRST_METRICS else len(FIRST_METRICS)
        return (late, -counts[key], first, key)

    return sorted(counts, key=rank)


def metric_histories(runs: list[Run], keys: list[str]) -> dict[int, dict[str, list]]:
    """Per run and metric, [(step, value), ...] read from MLflow (the mirror keeps only the
    latest values). A tracking store that cannot be read gives empty curves, not an error."""
    from apps.core.mlflow_store import tracking_client

    out: dict[int, dict[str, list]] = {}
    try:
        client = tracking_client()
        for run in runs:
            out[run.pk] = {}
            for key in keys:
                if key not in run.metrics:
                    continue
                points = client.get_metric_history(run.mlflow_run_id, key)
                out[run.pk][key] = sorted((p.step, p.value) for p in points)
    except Exception:
        log.exception("could not read metric histories from MLflow")
    return out


def _lower_is_better(name: str) -> bool:
    return any(word in name.lower() for word in ("loss", "rmse", "mae", "error", "seconds"))


def compare_table(runs: list[Run], attribute: str, *, best: bool = False) -> dict:
    keys = sorted({k for run in runs for k in getattr(run, attribute)})
    table = {}
    for key in keys:
        values = [getattr(run, attribute).get(key) for run in runs]
        row = {"values": values, "differs": len({repr(v) for v in values}) > 1}
        numbers = [(v, i) for i, v in enumerate(values) if isinstance(v, int | float)]
        if best and numbers and row["differs"]:
            row["best"] = (min if _lower_is_better(key) else max)(numbers)[1]
        table[key] = row
    return table
