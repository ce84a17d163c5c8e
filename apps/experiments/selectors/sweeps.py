"""Reads for sweeps: the list with per-status trial counts, and a sweep's leaderboard, each in
one query however many trials there are."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Count, F, FloatField, Q, QuerySet, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from apps.core.models import JobStatus
from apps.core.permissions import scope_to_member_projects
from apps.experiments.models import Direction, Sweep, TrainingJob

COUNTED = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED)
COUNTED += (JobStatus.CANCELLED,)
# A dataset version's large JSON, which no sweep page or answer shows.
DEFERRED = ("dataset_version__schema", "dataset_version__profile", "dataset_version__validation")


def sweep_list(*, user: AbstractBaseUser) -> QuerySet[Sweep]:
    """Sweeps of the user's projects, each with `launched` and one count per job status."""
    counts = {
        str(status): Count("trials", filter=Q(trials__job__status=status)) for status in COUNTED
    }
    return scope_to_member_projects(
        Sweep.objects.select_related(
            "project", "experiment", "dataset_version__dataset", "created_by"
        )
        .defer(*DEFERRED)
        .annotate(launched=Count("trials"), **counts)
        .order_by("-created_at", "-id"),  # aggregation drops Meta.ordering
        user,
    )


def sweep_leaderboard(*, sweep: Sweep) -> QuerySet[TrainingJob]:
    """The sweep's trials, best first by its metric, compared in the database.

    `metric_value` is the trial's value of the metric (whatever its status); the ranking only
    counts succeeded trials, so a cancelled trial's half-trained number never comes out on
    top. Trials without a ranked value follow, by trial index."""
    value = Cast(KeyTextTransform(sweep.metric, "metrics"), FloatField())
    ranked = Case(
        When(job__status=JobStatus.SUCCEEDED, then=value),
        default=Value(None),
        output_field=FloatField(),
    )
    rank = F("rank_value")
    order = (
        rank.desc(nulls_last=True)
        if sweep.direction == Direction.MAXIMIZE
        else rank.asc(nulls_last=True)
    )
    return (
        sweep.trials.select_related("job")
        .defer("history", "log_tail", "resources", "job__params", "job__result", "job__error")
        .annotate(metric_value=value, rank_value=ranked)
        .order_by(order, "trial")
    )


def sweep_leaderboard_rows(*, sweep: Sweep) -> list[dict[str, Any]]:
    """The leaderboard as plain rows (what the API answers and the page shows)."""
    rows = []
    for position, training in enumerate(sweep_leaderboard(sweep=sweep), start=1):
        in_plan = training.trial is not None and training.trial < len(sweep.plan)
        rows.append(
            {
                "rank": position if training.rank_value is not None else None,
                "trial": training.trial,
                "training_job": training.pk,
                "status": training.job.status,
                "params": sweep.plan[training.trial] if in_plan else {},
                "metric_value": training.metric_value,
                "metrics": training.metrics or {},
            }
        )
    return rows


def sweep_progress(sweep: Sweep) -> dict[str, int]:
    """Trial counts of a sweep from `sweep_list`'s annotations (no query)."""
    counts = {str(status): getattr(sweep, str(status), 0) for status in COUNTED}
    return {"planned": len(sweep.plan), "launched": sweep.launched, **counts}
