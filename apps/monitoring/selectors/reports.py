"""Drift reports of the caller's projects, with what a list shows joined in SQL."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from apps.core.permissions import scope_to_member_projects
from apps.monitoring.models import DriftReport


def report_list(*, user: AbstractBaseUser) -> QuerySet[DriftReport]:
    reports = DriftReport.objects.select_related(
        "monitor__project", "monitor__deployment", "model_version"
    ).defer("model_version__metrics", "model_version__card", "model_version__signature")
    return scope_to_member_projects(reports, user, "monitor__project")


def html_url(report: DriftReport) -> str | None:
    """Where the portal serves the report's Evidently HTML (None until there is one)."""
    return f"/monitoring/reports/{report.pk}/report.html" if report.html_path else None
