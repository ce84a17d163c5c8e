from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Monitor(models.Model):
    """Drift monitoring of one deployment: what to compare (a reference against a window of
    served predictions), how (Evidently options) and when (a django-celery-beat schedule).

    The reference is the training split of the dataset version the deployed model version was
    trained on, unless `reference_dataset_version` names another. The window is the last
    `window_hours` hours or, when `window_predictions` is set, the last N predictions."""

    project = models.ForeignKey("core.Project", on_delete=models.CASCADE, related_name="monitors")
    deployment = models.ForeignKey(
        "deployments.Deployment", on_delete=models.CASCADE, related_name="monitors"
    )
    name = models.CharField(max_length=100, default="drift")
    enabled = models.BooleanField(default=True, help_text="Scheduled runs happen only if set.")
    reference_dataset_version = models.ForeignKey(
        "datasets.DatasetVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: the training split of the deployed version's dataset version.",
    )
    window_hours = models.PositiveIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 366)]
    )
    window_predictions = models.PositiveIntegerField(
        null=True, blank=True, help_text="When set, the window is the last N predictions."
    )
    schedule_minutes = models.PositiveIntegerField(
        default=60, help_text="Run every N minutes; 0 runs only on demand."
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    columns = models.JSONField(
        default=list, blank=True, help_text="Input columns to test; empty: every model input."
    )
    per_column_method = models.JSONField(
        default=dict, blank=True, help_text="Column -> Evidently drift method, overriding its pick."
    )
    column_threshold = models.FloatField(
        null=True, blank=True, help_text="Per-column test threshold; empty: the method's default."
    )
    drift_share = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Dataset drift when at least this share of columns drifted.",
    )
    min_rows = models.PositiveIntegerField(
        default=100, help_text="Fewer rows on either side is recorded as insufficient_data."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deployment__slug", "name"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "name"], name="uniq_monitor_name"),
        ]

    def __str__(self) -> str:
        return f"{self.deployment.slug}/{self.name}"


class ReportStatus(models.TextChoices):
    """State graph:

    pending ──> ok                 (compared; dataset_drift says whether it drifted)
       ├──────> insufficient_data  (a side had fewer than min_rows rows: no verdict)
       └──────> failed             (the job failed; error says why)
    """

    PENDING = "pending", "Pending"
    OK = "ok", "OK"
    INSUFFICIENT_DATA = "insufficient_data", "Insufficient data"
    FAILED = "failed", "Failed"


class ReportTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Manual"


class DriftReport(models.Model):
    """One run of a monitor: the summary of its drift tests and the Evidently HTML report."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="reports")
    job = models.OneToOneField(
        "core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="drift_report"
    )
    status = models.CharField(
        max_length=20, choices=ReportStatus.choices, default=ReportStatus.PENDING, db_index=True
    )
    trigger = models.CharField(
        max_length=20, choices=ReportTrigger.choices, default=ReportTrigger.MANUAL
    )
    model_version = models.ForeignKey(
        "registry.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The version the deployment served when the report ran.",
    )
    reference_dataset_version = models.ForeignKey(
        "datasets.DatasetVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    rows_reference = models.PositiveIntegerField(default=0)
    rows_current = models.PositiveIntegerField(default=0)
    dataset_drift = models.BooleanField(null=True, blank=True)
    drift_share = models.FloatField(null=True, blank=True, help_text="Share of drifted columns.")
    drift_share_threshold = models.FloatField(default=0.5)
    drifted_columns = models.PositiveIntegerField(default=0)
    columns = models.JSONField(
        default=list, blank=True, help_text="Per column: column, test, score, threshold, drifted."
    )
    performance = models.JSONField(
        null=True, blank=True, help_text="Metrics on labelled rows, reference and current."
    )
    predictions = models.JSONField(
        default=dict, blank=True, help_text="Distribution of the window's predictions."
    )
    ops = models.JSONField(
        default=dict, blank=True, help_text="Requests, error rate and p95 latency in the window."
    )
    html_path = models.CharField(
        max_length=500, blank=True, help_text="The Evidently HTML report, under ARTIFACT_ROOT."
    )
    error = models.TextField(blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["monitor", "-created_at"], name="report_monitor_time")]

    def __str__(self) -> str:
        return f"drift report #{self.pk} ({self.status})"
