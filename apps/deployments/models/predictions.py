from __future__ import annotations

from django.db import models


class PredictionLog(models.Model):
    """One served prediction (one row of a request), written in batches off the request path.

    Plain ids rather than foreign keys for the serving side, so that a flush is one COPY-like
    bulk insert with no lookups; `deployment` stays a foreign key for scoping and cascades."""

    deployment = models.ForeignKey(
        "deployments.Deployment", on_delete=models.CASCADE, related_name="predictions"
    )
    revision_id = models.BigIntegerField()
    model_version_id = models.BigIntegerField()
    request_id = models.CharField(max_length=64)
    row = models.PositiveIntegerField(default=0, help_text="Index of the row in its request.")
    shadow = models.BooleanField(default=False, help_text="A candidate's copy; not returned.")
    inputs = models.JSONField()
    output = models.JSONField(null=True)
    error = models.TextField(blank=True)
    latency_ms = models.FloatField()
    created_at = models.DateTimeField(db_index=True)
    label = models.JSONField(null=True, blank=True, help_text="Ground truth, from feedback.")
    labelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["deployment", "-created_at"], name="prediction_deployment_time"),
            models.Index(fields=["request_id"], name="prediction_request"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}[{self.row}]"
