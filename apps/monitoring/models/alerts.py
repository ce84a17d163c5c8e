from __future__ import annotations

from django.conf import settings
from django.db import models


class RuleKind(models.TextChoices):
    DATASET_DRIFT = "dataset_drift", "Dataset drift detected"
    DRIFT_SHARE_ABOVE = "drift_share_above", "Drift share above threshold"
    FEATURE_DRIFTED = "feature_drifted", "A named feature drifted"
    METRIC_BELOW = "metric_below", "A performance metric below threshold"
    ERROR_RATE_ABOVE = "error_rate_above", "Error rate above threshold"
    LATENCY_P95_ABOVE = "latency_p95_above", "p95 latency above threshold (ms)"


# Alerts of these kinds say the data moved or the model got worse: a retrain policy reacts.
DRIFT_RULE_KINDS = (
    RuleKind.DATASET_DRIFT,
    RuleKind.DRIFT_SHARE_ABOVE,
    RuleKind.FEATURE_DRIFTED,
    RuleKind.METRIC_BELOW,
)


class AlertRule(models.Model):
    """A condition checked on every report of its monitor. `threshold` is used by the
    *_above / *_below kinds, `feature` by feature_drifted, `metric` by metric_below."""

    monitor = models.ForeignKey(
        "monitoring.Monitor", on_delete=models.CASCADE, related_name="rules"
    )
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    threshold = models.FloatField(null=True, blank=True)
    feature = models.CharField(max_length=200, blank=True)
    metric = models.CharField(max_length=100, blank=True)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["monitor_id", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.monitor_id}"


class AlertStatus(models.TextChoices):
    """One condition episode. State graph:

    open ──> acknowledged ──> resolved   (the condition cleared on a later report)
      └─────────────────────> resolved
    """

    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


OPEN_ALERT_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class Alert(models.Model):
    """An episode of a rule's condition being true: opened by the first report where it holds,
    kept (not repeated) while later reports still find it, resolved by the first where it
    does not. At most one unresolved alert per rule."""

    project = models.ForeignKey("core.Project", on_delete=models.CASCADE, related_name="alerts")
    monitor = models.ForeignKey(
        "monitoring.Monitor", on_delete=models.CASCADE, related_name="alerts"
    )
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    status = models.CharField(
        max_length=20, choices=AlertStatus.choices, default=AlertStatus.OPEN, db_index=True
    )
    message = models.TextField()
    value = models.FloatField(null=True, blank=True, help_text="The observed value at opening.")
    last_value = models.FloatField(null=True, blank=True)
    opened_report = models.ForeignKey(
        "monitoring.DriftReport", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_report = models.ForeignKey(
        "monitoring.DriftReport", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_report = models.ForeignKey(
        "monitoring.DriftReport", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"],
                condition=models.Q(status__in=["open", "acknowledged"]),
                name="one_unresolved_alert_per_rule",
            ),
        ]

    def __str__(self) -> str:
        return f"alert #{self.pk} {self.kind} ({self.status})"
