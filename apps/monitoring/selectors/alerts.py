"""Alerts and alert rules, narrowed to the caller's projects, with what a list shows joined in
SQL (a fixed number of queries per page)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from apps.core.models import Membership, Role
from apps.core.permissions import scope_to_member_projects
from apps.deployments.selectors.deployments import signature_columns
from apps.monitoring.models import OPEN_ALERT_STATUSES, Alert, AlertRule, AlertStatus, Monitor

# Lists never need the monitor's options or the version's metrics; JSON columns stay unread.
_MONITOR_DEFERRED = ("monitor__columns", "monitor__per_column_method")


def monitor_list_for_rules(*, user: AbstractBaseUser) -> QuerySet[Monitor]:
    """Monitors the user may see, with what validating a rule needs."""
    return scope_to_member_projects(
        Monitor.objects.select_related("project", "deployment__current_revision__stable"), user
    )


def alert_rule_list(*, user: AbstractBaseUser) -> QuerySet[AlertRule]:
    unresolved = Alert.objects.filter(rule=OuterRef("pk"), status__in=OPEN_ALERT_STATUSES)
    return scope_to_member_projects(
        AlertRule.objects.select_related("monitor__project", "monitor__deployment", "created_by")
        .defer(*_MONITOR_DEFERRED)
        .annotate(open_alert_id=Subquery(unresolved.values("pk")[:1]))
        .order_by("monitor_id", "id"),
        user,
        "monitor__project",
    )


def alert_list(*, user: AbstractBaseUser) -> QuerySet[Alert]:
    return scope_to_member_projects(
        Alert.objects.select_related("project", "monitor__deployment", "rule", "acknowledged_by")
        .defer(*_MONITOR_DEFERRED)
        .order_by("-opened_at", "-id"),
        user,
    )


def alert_status_counts(*, user: AbstractBaseUser) -> dict[str, int]:
    """Alerts per status in the user's projects, in one query (the page's tabs)."""
    counts = scope_to_member_projects(Alert.objects.all(), user).aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in AlertStatus.values}
    )
    counts["all"] = sum(counts.values())
    return counts


def open_alert_count(*, user: AbstractBaseUser) -> int:
    """Open (not yet acknowledged) alerts of the user's projects: the navigation badge."""
    return scope_to_member_projects(Alert.objects.filter(status=AlertStatus.OPEN), user).count()


def monitor_features(monitor: Monitor) -> list[str]:
    """What a feature_drifted rule may name: the monitor's columns, else the deployed version's
    inputs (what the drift job tests when the monitor names none)."""
    if monitor.columns:
        return [str(c) for c in monitor.columns]
    return [c["name"] for c in signature_columns(monitor.deployment)]


def monitor_task(monitor: Monitor) -> str:
    """classification | regression | "" (unknown): the deployed version's task."""
    revision = monitor.deployment.current_revision
    if revision is None:
        return ""
    task = (revision.stable.signature or {}).get("task")
    return task if task in ("classification", "regression") else ""


def alert_recipients(*, project_id: int) -> list[AbstractBaseUser]:
    """Who is told about alerts: members who can act on them (contributor and above)."""
    roles = [Role.CONTRIBUTOR, Role.REVIEWER, Role.ADMIN]
    members = (
        Membership.objects.filter(project_id=project_id, role__in=roles)
        .select_related("user")
        .order_by("user__username")
    )
    return [m.user for m in members if m.user.is_active]
