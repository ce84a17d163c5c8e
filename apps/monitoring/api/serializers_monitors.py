"""Monitors and drift reports over the API. Inputs are typed here; what depends on the
deployment (its inputs, the reference's project and columns) is checked by the services."""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.permissions import scope_to_member_projects
from apps.datasets.models import DatasetVersion
from apps.deployments.models import Deployment
from apps.monitoring.models import DriftReport, Monitor
from apps.monitoring.selectors.reports import html_url
from apps.monitoring.services.monitor_checks import (
    DRIFT_METHODS,
    MAX_ROWS,
    MAX_SCHEDULE_MINUTES,
    MAX_WINDOW_HOURS,
    MIN_ROWS_FLOOR,
)

SLUG = re.compile(r"[-a-zA-Z0-9_]{1,100}")
METHODS_HELP = "Column -> Evidently drift method, one of: " + ", ".join(DRIFT_METHODS) + "."


def _flat(detail, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in _flat(value, f"{prefix}{key}: ")]
    if isinstance(detail, list):
        return [m for value in detail for m in _flat(value, prefix)]
    return [f"{prefix}{detail}"]


class FlatListField(serializers.ListField):
    """Item errors as one list of messages ("2: ..."), the shape every API error has."""

    def run_child_validation(self, data: list) -> list:
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(_flat(exc.detail)) from exc


class FlatDictField(serializers.DictField):
    """Value errors as one list of messages ("key: ..."), the shape every API error has."""

    def run_child_validation(self, data: dict) -> dict:
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(_flat(exc.detail)) from exc


class LatestReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="pending | ok | insufficient_data | failed")
    dataset_drift = serializers.BooleanField(allow_null=True)
    drift_share = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()


class MonitorSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.slug")
    deployment = serializers.CharField(source="deployment.slug")
    scheduled = serializers.SerializerMethodField()
    latest_report = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True)

    class Meta:
        model = Monitor
        fields = [
            "id", "project", "deployment", "name", "enabled", "reference_dataset_version",
            "window_hours", "window_predictions", "schedule_minutes", "scheduled", "columns",
            "per_column_method", "column_threshold", "drift_share", "min_rows", "latest_report",
            "created_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField(help_text="Beat runs it every N minutes."))
    def get_scheduled(self, monitor: Monitor) -> bool:
        return monitor.periodic_task_id is not None

    @extend_schema_field(LatestReportSerializer(allow_null=True))
    def get_latest_report(self, monitor: Monitor) -> dict | None:
        # Annotated by selectors.monitors.with_latest_report.
        if getattr(monitor, "latest_report_id", None) is None:
            return None
        return {
            "id": monitor.latest_report_id,
            "status": monitor.latest_report_status,
            "dataset_drift": monitor.latest_report_dataset_drift,
            "drift_share": monitor.latest_report_drift_share,
            "created_at": monitor.latest_report_created_at,
        }


class MonitorInputSerializer(serializers.Serializer):
    """The settings of a monitor; on PATCH every field is optional."""

    name = serializers.CharField(max_length=100, default="drift")
    enabled = serializers.BooleanField(default=True, help_text="Scheduled runs only if set.")
    reference_dataset_version = serializers.PrimaryKeyRelatedField(
        queryset=DatasetVersion.objects.none(), allow_null=True, default=None,
        help_text="A ready dataset version of the same project; empty: the training split of "
        "the deployed version's dataset version.",
    )  # fmt: skip
    window_hours = serializers.IntegerField(
        min_value=1, max_value=MAX_WINDOW_HOURS, default=24, help_text="Window: the last N hours."
    )
    window_predictions = serializers.IntegerField(
        min_value=1, max_value=MAX_ROWS, allow_null=True, default=None,
        help_text="When set, the window is the last N predictions (at least min_rows).",
    )  # fmt: skip
    schedule_minutes = serializers.IntegerField(
        min_value=0, max_value=MAX_SCHEDULE_MINUTES, default=60,
        help_text="Run every N minutes (0, or at least 5); 0 runs only on demand.",
    )  # fmt: skip
    columns = FlatListField(
        child=serializers.CharField(max_length=200), max_length=2000, default=list,
        help_text="Model inputs to test; empty: all of them.",
    )  # fmt: skip
    per_column_method = FlatDictField(
        child=serializers.CharField(max_length=50), default=dict, help_text=METHODS_HELP
    )
    column_threshold = serializers.FloatField(
        allow_null=True, default=None, min_value=0,
        help_text="Per-column test threshold (above 0); empty: each method's default.",
    )  # fmt: skip
    drift_share = serializers.FloatField(
        min_value=0, max_value=1, default=0.5,
        help_text="Dataset drift when at least this share of columns drifted (above 0, at most 1).",
    )  # fmt: skip
    min_rows = serializers.IntegerField(
        min_value=MIN_ROWS_FLOOR, max_value=MAX_ROWS, default=100,
        help_text="Fewer rows on either side is recorded as insufficient_data.",
    )  # fmt: skip

    def get_fields(self) -> dict:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["reference_dataset_version"].queryset = scope_to_member_projects(
                DatasetVersion.objects.select_related("dataset"), request.user, "dataset__project"
            )
        return fields


class DeploymentSlugField(serializers.SlugRelatedField):
    """A slug is checked as text before it reaches the database (which refuses NUL bytes)."""

    def to_internal_value(self, data: object) -> Deployment:
        if not isinstance(data, str) or not SLUG.fullmatch(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data)[:100])
        return super().to_internal_value(data)


class MonitorCreateSerializer(MonitorInputSerializer):
    deployment = DeploymentSlugField(
        slug_field="slug", queryset=Deployment.objects.none(), help_text="Deployment slug"
    )

    def get_fields(self) -> dict:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            from apps.deployments.selectors.deployments import deployment_list

            fields["deployment"].queryset = deployment_list(user=request.user)
        return fields


class ColumnDriftSerializer(serializers.Serializer):
    column = serializers.CharField()
    test = serializers.CharField(help_text="Evidently's drift method, e.g. ks, chisquare, z.")
    score = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    drifted = serializers.BooleanField()


class ModelVersionBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()


class DriftReportSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="monitor.project.slug")
    deployment = serializers.CharField(source="monitor.deployment.slug")
    monitor_name = serializers.CharField(source="monitor.name")
    model_version = ModelVersionBriefSerializer(allow_null=True)
    columns = ColumnDriftSerializer(many=True, help_text="Per-column test results.")
    performance = serializers.DictField(
        allow_null=True,
        help_text="With labelled predictions: {reference: {...}, current: {...}} metrics.",
    )
    predictions = serializers.DictField(
        help_text='{"kind": "classes", "counts": {...}} or {"kind": "histogram", "edges", '
        '"counts", "mean"}'
    )
    ops = serializers.DictField(
        help_text="requests, errors, error_rate, latency_p50_ms, latency_p95_ms in the window."
    )
    html_url = serializers.SerializerMethodField()
    performance_html_url = serializers.SerializerMethodField()

    class Meta:
        model = DriftReport
        fields = [
            "id", "project", "deployment", "monitor", "monitor_name", "job", "status", "trigger",
            "model_version", "reference_dataset_version", "window_start", "window_end",
            "rows_reference", "rows_current", "dataset_drift", "drift_share",
            "drift_share_threshold", "drifted_columns", "columns", "performance", "predictions",
            "ops", "html_url", "performance_html_url", "error", "duration_seconds", "created_at",
            "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="Evidently HTML."))
    def get_html_url(self, report: DriftReport) -> str | None:
        return html_url(report)

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text="Evidently's quality report HTML.")
    )
    def get_performance_html_url(self, report: DriftReport) -> str | None:
        if not (report.performance or {}).get("html_path"):
            return None
        return f"/monitoring/reports/{report.pk}/performance.html"
