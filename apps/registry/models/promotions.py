from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.registry.models.registry import ModelVersion, RegisteredModel


class PromotionPolicy(models.Model):
    """How a registered model's versions reach one stage. A model without a row for a stage
    uses the defaults below (apps.registry.selectors.policy_for)."""

    DEFAULT_APPROVALS = {"staging": 1, "production": 2}

    registered_model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="policies"
    )
    stage = models.CharField(
        max_length=20, choices=[("staging", "Staging"), ("production", "Production")]
    )
    approvals_required = models.PositiveSmallIntegerField(default=1)
    primary_metric = models.CharField(
        max_length=100, blank=True, help_text="Empty: accuracy for classification, rmse else."
    )
    direction = models.CharField(
        max_length=3, choices=[("max", "Higher is better"), ("min", "Lower is better")],
        blank=True, help_text="Empty: from the metric (loss, rmse, mae: lower is better).",
    )  # fmt: skip
    floor = models.FloatField(
        null=True, blank=True, help_text="The primary metric must reach this (None: no floor)."
    )
    tolerance = models.FloatField(
        default=0.01, help_text="How much worse than the champion the candidate may be."
    )
    require_validation = models.BooleanField(
        default=True, help_text="The dataset version must have passed its validation rules."
    )
    expiry_days = models.PositiveSmallIntegerField(default=7)
    deploy_strategy = models.CharField(
        max_length=10, choices=[("direct", "Direct"), ("canary", "Canary")], default="direct",
        help_text="How an approved version reaches the stage's deployment.",
    )  # fmt: skip
    canary_percent = models.PositiveSmallIntegerField(
        default=10, help_text="The candidate's share of traffic when deployed as a canary."
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["registered_model__name", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "stage"], name="uniq_policy_stage"),
        ]

    def __str__(self) -> str:
        return f"{self.registered_model} → {self.stage}"


class RequestStatus(models.TextChoices):
    """pending → approved | rejected | cancelled | expired; every end is final."""

    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class PromotionRequest(models.Model):
    """A request to move a model version into `staging` or `production`.

    The gates run at creation and again at the final approval, and are stored here with their
    outcome; the approvals needed are fixed at creation from the policy. Approval moves the
    version's stage in the same transaction; `mlflow_synced_at` records when the MLflow alias
    was brought in line afterwards (a retried task does it when MLflow was unreachable).
    """

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="promotion_requests"
    )
    target = models.CharField(
        max_length=20, choices=[("staging", "Staging"), ("production", "Production")]
    )
    justification = models.TextField()
    status = models.CharField(
        max_length=20, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    approvals_required = models.PositiveSmallIntegerField()
    champion = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The version in the target stage when the gates last ran.",
    )  # fmt: skip
    gates = models.JSONField(default=list, blank=True)
    gates_passed = models.BooleanField(default=False)
    gates_checked_at = models.DateTimeField(null=True, blank=True)
    override_reason = models.TextField(blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    mlflow_synced_at = models.DateTimeField(null=True, blank=True)
    mlflow_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "target"],
                condition=models.Q(status="pending"),
                name="uniq_pending_request",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="request_status_expiry")]

    def __str__(self) -> str:
        return f"promotion #{self.pk}: {self.model_version} → {self.target}"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class Review(models.Model):
    """One reviewer's decision on one request (each reviewer counts once)."""

    request = models.ForeignKey(PromotionRequest, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "reviewer"], name="uniq_review"),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.decision}s #{self.request_id}"


class StageChange(models.Model):
    """The model's history: every stage a version entered, why and on whose word."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="stage_changes"
    )
    from_stage = models.CharField(max_length=20)
    to_stage = models.CharField(max_length=20)
    request = models.ForeignKey(
        PromotionRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["model_version", "-at"], name="stage_change_version")]

    def __str__(self) -> str:
        return f"{self.model_version}: {self.from_stage} → {self.to_stage}"
