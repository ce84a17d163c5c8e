from __future__ import annotations

from django.conf import settings
from django.db import models


class Environment(models.TextChoices):
    """A deployment's environment serves versions approved for the stage of the same name."""

    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"


class Strategy(models.TextChoices):
    DIRECT = "direct", "Direct"  # all traffic to `stable`
    CANARY = "canary", "Canary"  # `candidate` gets `canary_percent` of requests
    SHADOW = "shadow", "Shadow"  # `candidate` gets a copy; only `stable` answers
    BLUE_GREEN = "blue_green", "Blue-green"  # `candidate` loaded and checked, then all traffic


class Deployment(models.Model):
    """A named serving endpoint (`/serve/<slug>/predict`) of one registered model in one
    environment. What it serves is its current revision; every change is a new revision."""

    project = models.ForeignKey(
        "core.Project", on_delete=models.PROTECT, related_name="deployments"
    )
    registered_model = models.ForeignKey(
        "registry.RegisteredModel", on_delete=models.PROTECT, related_name="deployments"
    )
    environment = models.CharField(max_length=20, choices=Environment.choices)
    slug = models.SlugField(max_length=100, unique=True)
    current_revision = models.ForeignKey(
        "deployments.Revision", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Only a hash of the serving token is kept; the token itself is shown once.
    token_hash = models.CharField(max_length=128, blank=True)
    token_hint = models.CharField(max_length=8, blank=True)
    token_rotated_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="The last load failure, if any.")
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project__slug", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["registered_model", "environment"], name="uniq_model_environment"
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class Revision(models.Model):
    """One immutable routing state of a deployment. `number` counts up per deployment;
    rolling back makes a new revision that repeats an older one (`rolled_back_to`)."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    strategy = models.CharField(max_length=20, choices=Strategy.choices)
    stable = models.ForeignKey(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="stable_revisions"
    )
    candidate = models.ForeignKey(
        "registry.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="candidate_revisions",
    )
    canary_percent = models.PositiveSmallIntegerField(default=0)
    sticky_header = models.CharField(
        max_length=100, blank=True, help_text="Route canary traffic by this request header."
    )
    action = models.CharField(max_length=40, help_text="What made it: deploy, rollback, ...")
    reason = models.TextField(blank=True)
    rolled_back_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promotion_request = models.ForeignKey(
        "registry.PromotionRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="revisions",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deployment_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "number"], name="uniq_revision_number"),
        ]

    def __str__(self) -> str:
        return f"{self.deployment.slug} r{self.number} ({self.strategy})"
