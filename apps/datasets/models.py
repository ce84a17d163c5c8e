from __future__ import annotations

from django.conf import settings
from django.db import models


class Dataset(models.Model):
    project = models.ForeignKey("core.Project", on_delete=models.PROTECT, related_name="datasets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project__slug", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="uniq_dataset_name"),
        ]

    def __str__(self) -> str:
        return f"{self.project.slug}/{self.name}"


class VersionStatus(models.TextChoices):
    """State graph:

    pending ──> processing ──> ready
       │             └───────> failed   (unreadable file, worker lost, cancelled)
       └─────────────────────> failed
    """

    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


VERSION_TRANSITIONS: dict[str, tuple[str, ...]] = {
    VersionStatus.PENDING: (VersionStatus.PROCESSING, VersionStatus.FAILED),
    VersionStatus.PROCESSING: (VersionStatus.READY, VersionStatus.FAILED),
}


class DatasetVersion(models.Model):
    """An immutable upload. The root of lineage: training jobs point here with foreign keys."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=20, choices=VersionStatus.choices, default=VersionStatus.PENDING
    )
    content_hash = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField()
    format = models.CharField(max_length=10)
    filename = models.CharField(max_length=255)
    note = models.TextField(blank=True)
    row_count = models.BigIntegerField(null=True, blank=True)
    column_count = models.PositiveIntegerField(null=True, blank=True)
    schema = models.JSONField(default=list, blank=True)
    profile = models.JSONField(default=dict, blank=True)
    validation = models.JSONField(default=list, blank=True)
    validation_passed = models.BooleanField(null=True, blank=True)
    error = models.TextField(blank=True)
    job = models.OneToOneField(
        "core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="dataset_version"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["dataset_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "version"], name="uniq_dataset_version"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} v{self.version}"


class RuleKind(models.TextChoices):
    REQUIRED_COLUMNS = "required_columns", "Required columns"
    COLUMN_TYPE = "column_type", "Column type"
    NOT_NULL = "not_null", "Not null"
    MIN = "min", "Minimum"
    MAX = "max", "Maximum"
    ALLOWED_VALUES = "allowed_values", "Allowed values"
    UNIQUE = "unique", "Unique"
    MAX_MISSING_FRACTION = "max_missing_fraction", "Max missing fraction"
    ROW_COUNT_RANGE = "row_count_range", "Row count range"


class ValidationRule(models.Model):
    """A check every new version of the dataset is held to; results are stored on the version."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    column = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset_id", "id"]

    def __str__(self) -> str:
        return f"{self.kind}({self.column})" if self.column else self.kind

    def as_spec(self) -> dict:
        return {"kind": self.kind, "column": self.column or None, "params": self.params}
