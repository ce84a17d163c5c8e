"""Monitors of the caller's projects, each with its latest report's summary joined in SQL
(correlated subqueries on the (monitor, -created_at) index: one query per page)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery

from apps.core.permissions import scope_to_member_projects
from apps.monitoring.models import DriftReport, Monitor

LATEST_FIELDS = ("id", "status", "dataset_drift", "drift_share", "created_at")


def with_latest_report(monitors: QuerySet[Monitor]) -> QuerySet[Monitor]:
    """Annotates latest_report_<field> for each of LATEST_FIELDS (None without reports)."""
    latest = DriftReport.objects.filter(monitor=OuterRef("pk")).order_by("-created_at", "-id")
    return monitors.annotate(
        **{f"latest_report_{f}": Subquery(latest.values(f)[:1]) for f in LATEST_FIELDS}
    )


def monitor_list(*, user: AbstractBaseUser) -> QuerySet[Monitor]:
    monitors = Monitor.objects.select_related("project", "deployment", "created_by")
    return with_latest_report(scope_to_member_projects(monitors, user))
