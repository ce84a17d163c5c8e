"""The home page's reads: everything the dashboard shows, for all the user's projects or one,
in a fixed number of queries however many projects, jobs, deployments or predictions there are.

Queries: projects with their counts (1), pending reviews (2: page and count), open alerts (1),
recent activity (1), jobs (1), live deployments (1), their traffic (1; skipped when there are
none), spend (what the costs app's `monthly_spend` takes, itself fixed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, TruncHour
from django.http import Http404
from django.utils import timezone

from apps.core import selectors
from apps.core.models import AuditEvent, Job, JobStatus, Membership, Project
from apps.core.permissions import visible_projects

LIST_SIZE = 8
DEPLOYMENT_LIMIT = 12
SPARK_HOURS = 24
COUNT_FIELDS = (
    "datasets",
    "jobs_running",
    "jobs_queued",
    "models",
    "live_deployments",
    "open_alerts",
)


@dataclass
class Sparkline:
    slug: str
    hours: list[str]
    requests: list[int]
    error_rate: list[float | None]
    total_requests: int
    total_errors: int

    @property
    def error_pct(self) -> float | None:
        if not self.total_requests:
            return None
        return round(100 * self.total_errors / self.total_requests, 1)


@dataclass
class Spend:
    available: bool
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        """Anything to draw: some spend, or a budget to measure it against."""
        return any(row["spent"] or row["budget"] is not None for row in self.rows)


@dataclass
class Dashboard:
    projects: list[Project]
    selected: Project | None
    totals: dict[str, int]
    reviews: list
    review_count: int
    alerts: list
    events: list[AuditEvent]
    jobs: list[Job]
    deployments: list
    sparklines: dict[str, Sparkline]
    spend: Spend

    @property
    def chart_data(self) -> dict[str, Any]:
        """What static/js/dashboard.js draws, passed through json_script."""
        return {
            "sparklines": [
                {"slug": s.slug, "hours": s.hours, "requests": s.requests, "errors": s.error_rate}
                for s in self.sparklines.values()
            ],
            "spend": self.spend.rows if self.spend.has_data else None,
        }


def _count(queryset: QuerySet, project_path: str = "project") -> Coalesce:
    """A correlated COUNT per project row: subqueries, not joins, so counts do not multiply."""
    counted = (
        queryset.filter(**{project_path: OuterRef("pk")})
        .order_by()
        .values(project_path)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def project_counts(*, user: AbstractBaseUser) -> QuerySet[Project]:
    """The user's projects, each annotated with the dashboard's counts (`n_<name>` for each
    name in COUNT_FIELDS; plain names clash with reverse relations) and the user's role."""
    from apps.datasets.models import Dataset
    from apps.deployments.models import Deployment
    from apps.monitoring.models import OPEN_ALERT_STATUSES, Alert
    from apps.registry.models import RegisteredModel

    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return (
        visible_projects(user)
        .annotate(
            n_datasets=_count(Dataset.objects.all()),
            n_jobs_running=_count(Job.objects.filter(status=JobStatus.RUNNING)),
            n_jobs_queued=_count(Job.objects.filter(status=JobStatus.QUEUED)),
            n_models=_count(RegisteredModel.objects.all()),
            n_live_deployments=_count(Deployment.objects.filter(current_revision__isnull=False)),
            n_open_alerts=_count(Alert.objects.filter(status__in=OPEN_ALERT_STATUSES)),
            my_role=Subquery(role),
        )
        .order_by("slug")
    )


def _hours(now: datetime) -> list[datetime]:
    last = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [last - timedelta(hours=SPARK_HOURS - 1 - i) for i in range(SPARK_HOURS)]


def deployment_sparklines(
    deployment_ids: list[int], *, now: datetime | None = None
) -> dict[int, Sparkline]:
    """Requests and error rate per hour over the last day, per deployment: one GROUP BY query
    for all of them. Shadow copies are not answers to anyone, so they are not traffic."""
    from apps.deployments.models import PredictionLog

    hours = _hours(now or timezone.now())
    buckets: dict[int, dict[datetime, tuple[int, int]]] = {pk: {} for pk in deployment_ids}
    if deployment_ids:
        rows = (
            PredictionLog.objects.filter(
                deployment_id__in=deployment_ids, created_at__gte=hours[0], shadow=False
            )
            .annotate(hour=TruncHour("created_at", tzinfo=UTC))
            .order_by()
            .values("deployment_id", "hour")
            .annotate(
                requests=Count("request_id", distinct=True),
                errors=Count("request_id", distinct=True, filter=~Q(error="")),
            )
        )
        for row in rows:
            buckets[row["deployment_id"]][row["hour"].astimezone(UTC)] = (
                row["requests"],
                row["errors"],
            )
    lines: dict[int, Sparkline] = {}
    for pk, seen in buckets.items():
        counts = [seen.get(hour, (0, 0)) for hour in hours]
        lines[pk] = Sparkline(
            slug="",
            hours=[hour.isoformat() for hour in hours],
            requests=[req for req, _ in counts],
            # No requests in an hour: no rate to speak of, a gap rather than a false 0 %.
            error_rate=[round(100 * err / req, 2) if req else None for req, err in counts],
            total_requests=sum(req for req, _ in counts),
            total_errors=sum(err for _, err in counts),
        )
    return lines


def month_spend(*, user: AbstractBaseUser, project: Project | None) -> Spend:
    """Spend this month against budget, from the costs app when it is installed."""
    try:
        from apps.costs.selectors import monthly_spend
    except (ImportError, AttributeError):
        return Spend(available=False)
    rows = monthly_spend(user=user, project=project)
    return Spend(
        available=True,
        rows=[
            {
                "project": row["project"],
                "name": row.get("name") or row["project"],
                "spent": float(row.get("spent") or 0),
                "budget": float(row["budget"]) if row.get("budget") is not None else None,
                "currency": row.get("currency") or "",
            }
            for row in rows
        ],
    )


def _scoped(queryset: QuerySet, project: Project | None, path: str = "project") -> QuerySet:
    return queryset.filter(**{path: project}) if project is not None else queryset


def dashboard(*, user: AbstractBaseUser, project_slug: str = "") -> Dashboard:
    """The home page for `user`; `project_slug` narrows everything to one of their projects.
    A slug the user cannot see answers 404, like every other project-scoped object."""
    from apps.deployments.selectors.deployments import deployment_list
    from apps.monitoring.selectors.alerts import alert_list
    from apps.registry.selectors.policies import reviewable_requests

    projects = list(project_counts(user=user))
    selected = None
    if project_slug:
        selected = next((p for p in projects if p.slug == project_slug), None)
        if selected is None:
            raise Http404("No such project.")
    shown = [selected] if selected else projects
    totals = {name: sum(getattr(p, f"n_{name}") for p in shown) for name in COUNT_FIELDS}

    reviews_qs = _scoped(
        reviewable_requests(user=user), selected, "model_version__registered_model__project"
    )
    reviews = list(
        reviews_qs.select_related("model_version__registered_model__project", "requested_by").defer(
            "model_version__metrics", "model_version__card", "model_version__signature", "gates"
        )[:LIST_SIZE]
    )
    review_count = reviews_qs.count()

    from apps.monitoring.models import OPEN_ALERT_STATUSES

    alerts = list(
        _scoped(alert_list(user=user), selected).filter(status__in=OPEN_ALERT_STATUSES)[:LIST_SIZE]
    )
    events = list(_scoped(selectors.audit_event_list(user=user), selected)[:LIST_SIZE])
    jobs = list(_scoped(selectors.job_list(user=user), selected)[:10])

    deployments = list(
        _scoped(deployment_list(user=user), selected)
        .filter(current_revision__isnull=False)
        .order_by("project__slug", "slug")[:DEPLOYMENT_LIMIT]
    )
    lines = deployment_sparklines([d.pk for d in deployments])
    sparklines: dict[str, Sparkline] = {}
    for deployment in deployments:
        line = lines[deployment.pk]
        line.slug = deployment.slug
        deployment.spark = line
        sparklines[deployment.slug] = line

    return Dashboard(
        projects=projects,
        selected=selected,
        totals=totals,
        reviews=reviews,
        review_count=review_count,
        alerts=alerts,
        events=events,
        jobs=jobs,
        deployments=deployments,
        sparklines=sparklines,
        spend=month_spend(user=user, project=selected),
    )
