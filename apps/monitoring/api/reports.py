"""Drift reports over the API (read-only): the summaries the drift job stored."""

from __future__ import annotations

import django_filters
from rest_framework import mixins

from apps.core.api.base import ProjectScopedViewSet
from apps.core.api.filters import UtcIsoDateTimeFilter
from apps.monitoring.api import serializers_monitors as s
from apps.monitoring.models import DriftReport, ReportStatus
from apps.monitoring.selectors.reports import report_list


class DriftReportFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="monitor__project__slug", help_text="Slug")
    deployment = django_filters.CharFilter(
        field_name="monitor__deployment__slug", help_text="Deployment slug"
    )
    monitor = django_filters.NumberFilter(field_name="monitor_id", help_text="Monitor id")
    status = django_filters.MultipleChoiceFilter(choices=ReportStatus.choices)
    dataset_drift = django_filters.BooleanFilter()
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = DriftReport
        fields = ["project", "deployment", "monitor", "status", "dataset_drift"]


class DriftReportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet
):  # fmt: skip
    """Drift reports, newest first: dataset drift and the share of drifted columns, each
    column's test, score, threshold and verdict, performance on labelled predictions, the
    window's prediction distribution and operational figures, and a link to Evidently's HTML.
    `insufficient_data` means the window (or reference) had fewer than the monitor's min_rows
    rows: no verdict, which is not the same as no drift."""

    project_path = "monitor__project"
    queryset = DriftReport.objects.none()
    serializer_class = s.DriftReportSerializer
    filterset_class = DriftReportFilter
    ordering_fields = ["created_at", "drift_share", "finished_at"]

    def get_queryset(self):
        return report_list(user=self.request.user)
