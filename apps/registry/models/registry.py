from __future__ import annotations

from django.conf import settings
from django.db import models

# Sections of a model card (per registered model and per version), in display order.
CARD_SECTIONS = {
    "description": "Description",
    "intended_use": "Intended use",
    "limitations": "Limitations",
    "training_data": "Training data",
    "evaluation": "Evaluation",
    "ethical_considerations": "Ethical considerations",
}


class Stage(models.TextChoices):
    """A version's place in the lifecycle. It changes only through an approved promotion
    request (none → staging → production), or by being replaced: a staging champion goes back
    to none, a production champion to archived."""

    NONE = "none", "None"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"
    ARCHIVED = "archived", "Archived"


class RegisteredModel(models.Model):
    """A model name in the MLflow Model Registry, owned by one project.

    MLflow's registry names are global, so a name belongs to the first project that uses it.
    """

    project = models.ForeignKey(
        "core.Project", on_delete=models.PROTECT, related_name="registered_models"
    )
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    card = models.JSONField(default=dict, blank=True, help_text="Markdown per card section.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    """A version in the MLflow registry, with the lineage MLflow does not keep: the training job
    that produced it and the dataset version it was trained on."""

    registered_model = models.ForeignKey(
        RegisteredModel, on_delete=models.PROTECT, related_name="versions"
    )
    version = models.PositiveIntegerField()
    mlflow_run_id = models.CharField(max_length=64)
    source = models.CharField(max_length=500)
    training_job = models.OneToOneField(
        "experiments.TrainingJob",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="model_version",
    )
    dataset_version = models.ForeignKey(
        "datasets.DatasetVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="model_versions",
    )
    metrics = models.JSONField(default=dict, blank=True)
    signature = models.JSONField(default=dict, blank=True)
    card = models.JSONField(default=dict, blank=True, help_text="Markdown per card section.")
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NONE)
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    stage_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["registered_model__name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["registered_model", "version"], name="uniq_model_version"
            ),
            # One champion per stage: the promotion moves the previous one out in the same
            # transaction, and the database refuses anything else.
            models.UniqueConstraint(
                fields=["registered_model", "stage"],
                condition=models.Q(stage__in=["staging", "production"]),
                name="uniq_model_stage_champion",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registered_model.name} v{self.version}"
