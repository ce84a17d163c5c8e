from __future__ import annotations

from django.db import models


class RegisteredModel(models.Model):
    """A model name in the MLflow Model Registry, owned by one project.

    MLflow's registry names are global, so a name belongs to the first project that uses it.
    """

    project = models.ForeignKey(
        "core.Project", on_delete=models.PROTECT, related_name="registered_models"
    )
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["registered_model__name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["registered_model", "version"], name="uniq_model_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registered_model.name} v{self.version}"
