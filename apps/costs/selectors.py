"""Spend and its breakdowns, over the caller's projects only, aggregated in SQL: a report costs
the same handful of queries for one project or a hundred.

Training spend is the stored TrainingJob.cost of jobs that finished in the month (a sweep's
trials count as "sweeps", other jobs as "training"); serving spend is each deployment's hours in
the month (from its creation, up to now) x serving processes x the serving rate, when one is set.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Count, F, QuerySet, Sum, Value, When
from django.utils import timezone

from apps.core.models import Project
from apps.core.permissions import scope_to_member_projects, visible_projects
from apps.costs.models import Budget
from apps.costs.periods import current_month, month_bounds
from apps.costs.rates import serving_configured, serving_rate
from apps.deployments.models import Deployment, PredictionLog
from apps.experiments.models import TrainingJob

KINDS = ("training", "sweeps", "serving")
TOP_JOBS = 10


def _projects(user: AbstractBaseUser | None, project: Project | str | None) -> QuerySet[Project]:
    # user None: the system's own view (the budget check), every project.
    projects = Project.objects.all() if user is None else visible_projects(user)
    if isinstance(project, Project):
        projects = projects.filter(pk=project.pk)
    elif project:
        projects = projects.filter(slug=project)
    return projects


def _training_jobs(projects: QuerySet[Project], month: date) -> QuerySet[TrainingJob]:
    start, end = month_bounds(month)
    return TrainingJob.objects.filter(
        experiment__project__in=projects.values("pk"),
        job__finished_at__gte=start,
        job__finished_at__lt=end,
        cost__isnull=False,
    )


_KIND = Case(When(sweep__isnull=True, then=Value("training")), default=Value("sweeps"))


@dataclass(frozen=True)
class _Serving:
    id: int
    slug: str
    project_id: int
    model: str
    hours: float
    cost: float


def _serving(
    projects: QuerySet[Project], month: date, now: datetime | None = None
) -> list[_Serving]:
    """One query: each deployment alive during the month, with its serving hours and cost."""
    if not serving_configured():
        return []
    start, end = month_bounds(month)
    stop = min(end, now or timezone.now())
    rate = serving_rate()
    rows = (
        Deployment.objects.filter(project__in=projects.values("pk"), created_at__lt=stop)
        .order_by("slug")
        .values_list("pk", "slug", "project_id", "registered_model__name", "created_at")
    )
    out = []
    for pk, slug, project_id, model, created in rows:
        hours = max(0.0, (stop - max(start, created)).total_seconds() / 3600)
        out.append(_Serving(pk, slug, project_id, model, hours, hours * rate))
    return out


def monthly_spend(
    *,
    user: AbstractBaseUser | None,
    project: Project | str | None = None,
    month: date | None = None,
) -> list[dict[str, Any]]:
    """Per project of the user (or only `project`, a Project or slug): what it spent in `month`
    (default: this month) against its budget. Three queries at most."""
    month = month or current_month()
    projects = _projects(user, project)
    rows = list(
        projects.order_by("slug").values("pk", "slug", "name", "budget__amount", "budget__currency")
    )
    spent: dict[int, float] = defaultdict(float)
    totals = (
        _training_jobs(projects, month)
        .values(project_id=F("experiment__project_id"))
        .annotate(total=Sum("cost"))
        .order_by()
    )
    for row in totals:
        spent[row["project_id"]] += float(row["total"])
    for dep in _serving(projects, month):
        spent[dep.project_id] += dep.cost
    return [
        {
            "project": row["slug"],
            "name": row["name"],
            "spent": round(spent[row["pk"]], 4),
            "budget": float(row["budget__amount"]) if row["budget__amount"] is not None else None,
            "currency": row["budget__currency"] or settings.COST_CURRENCY,
        }
        for row in rows
    ]


def per_thousand(cost: float, predictions: int) -> float | None:
    """Cost per 1,000 predictions; unknown (None) without predictions or without a cost."""
    if predictions <= 0 or cost <= 0:
        return None
    return round(cost / predictions * 1000, 6)


def cost_breakdown(
    *, user: AbstractBaseUser, month: date, project: Project | str | None = None
) -> dict[str, Any]:
    """The cost report of a month: by project (with budgets), by kind, by model, per deployment
    (with cost per 1,000 predictions) and the most expensive training jobs. Seven queries."""
    projects = _projects(user, project)
    by_project = monthly_spend(user=user, project=project, month=month)
    jobs = _training_jobs(projects, month)
    kinds: dict[str, float] = dict.fromkeys(KINDS, 0.0)
    models: dict[tuple[str, str], dict[str, float]] = defaultdict(
        lambda: {"training": 0.0, "serving": 0.0}
    )
    slugs = dict(projects.values_list("pk", "slug"))
    grouped = (
        jobs.values("model_name", project_id=F("experiment__project_id"), kind=_KIND)
        .annotate(total=Sum("cost"))
        .order_by()
    )
    for row in grouped:
        kinds[row["kind"]] += float(row["total"])
        models[(slugs.get(row["project_id"], ""), row["model_name"])]["training"] += float(
            row["total"]
        )
    serving = _serving(projects, month)
    start, end = month_bounds(month)
    counts = (
        dict(
            PredictionLog.objects.filter(
                deployment_id__in=[d.id for d in serving],
                created_at__gte=start,
                created_at__lt=end,
                shadow=False,
            )
            .values("deployment_id")
            .annotate(n=Count("id"))
            .order_by()
            .values_list("deployment_id", "n")
        )
        if serving
        else {}
    )
    deployments = []
    for dep in serving:
        kinds["serving"] += dep.cost
        models[(slugs.get(dep.project_id, ""), dep.model)]["serving"] += dep.cost
        predictions = counts.get(dep.id, 0)
        deployments.append({
            "deployment": dep.slug, "project": slugs.get(dep.project_id, ""), "model": dep.model,
            "hours": round(dep.hours, 2), "cost": round(dep.cost, 4), "predictions": predictions,
            "cost_per_1k_predictions": per_thousand(dep.cost, predictions),
        })  # fmt: skip
    by_model = sorted(
        (
            {
                "project": p,
                "model": m,
                "training": round(v["training"], 4),
                "serving": round(v["serving"], 4),
                "total": round(v["training"] + v["serving"], 4),
            }
            for (p, m), v in models.items()
        ),
        key=lambda r: (-r["total"], r["project"], r["model"]),
    )
    top = (
        jobs.select_related("job", "experiment__project")
        .only(
            "pk",
            "model_name",
            "template",
            "cost",
            "resources",
            "sweep_id",
            "job__finished_at",
            "job__status",
            "experiment__project__slug",
        )
        .order_by("-cost", "-pk")[:TOP_JOBS]
    )
    return {
        "month": month.strftime("%Y-%m"),
        "currency": settings.COST_CURRENCY,
        "serving_configured": serving_configured(),
        "total": round(sum(kinds.values()), 4),
        "by_project": by_project,
        "by_kind": [{"kind": k, "cost": round(v, 4)} for k, v in kinds.items()],
        "by_model": by_model,
        "deployments": deployments,
        "top_jobs": [
            {
                "id": t.pk,
                "project": t.experiment.project.slug,
                "model": t.model_name,
                "template": t.template,
                "device": (t.resources or {}).get("device", ""),
                "sweep": t.sweep_id,
                "status": t.job.status,
                "finished_at": t.job.finished_at,
                "cost": float(t.cost),
            }
            for t in top
        ],
    }


def budget_list(*, user: AbstractBaseUser) -> QuerySet[Budget]:
    return scope_to_member_projects(
        Budget.objects.select_related("project", "updated_by").order_by("project__slug"), user
    )
