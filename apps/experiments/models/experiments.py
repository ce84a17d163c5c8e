from __future__ import annotations

from django.conf import settings
from django.db import models


class Experiment(models.Model):
    project = models.ForeignKey(
        "core.Project", on_delete=models.PROTECT, related_name="experiments"
    )
    name = models.CharField(max_length=200)
    mlflow_experiment_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project__slug", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="uniq_experiment_name"),
        ]

    def __str__(self) -> str:
        return self.mlflow_name

    @property
    def mlflow_name(self) -> str:
        """Its name in the MLflow tracking store, where names are global: `project/name`.
        A script that logs with `mlflow.set_experiment("alpha/churn")` lands in it."""
        return f"{self.project.slug}/{self.name}"


class Task(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    REGRESSION = "regression", "Regression"


class TrainingJob(models.Model):
    """One training run of a template on a dataset version. Its status, progress and heartbeat
    live on the core Job row it points at; this row holds what training adds."""

    job = models.OneToOneField("core.Job", on_delete=models.PROTECT, related_name="training")
    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="jobs")
    dataset_version = models.ForeignKey(
        "datasets.DatasetVersion", on_delete=models.PROTECT, related_name="training_jobs"
    )
    target = models.CharField(max_length=200)
    task = models.CharField(max_length=20, choices=Task.choices)
    template = models.CharField(max_length=50)
    params = models.JSONField(default=dict)
    model_name = models.CharField(max_length=200)
    mlflow_run_id = models.CharField(max_length=64, blank=True)
    current_epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    history = models.JSONField(default=list, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    resources = models.JSONField(default=dict, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    log_tail = models.TextField(blank=True)
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    sweep = models.ForeignKey(
        "experiments.Sweep", null=True, blank=True, on_delete=models.PROTECT, related_name="trials"
    )
    trial = models.PositiveIntegerField(
        null=True, blank=True, help_text="Index in the sweep's plan."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["sweep", "trial"], name="uniq_sweep_trial"),
        ]

    def __str__(self) -> str:
        return f"training #{self.pk} {self.template} on {self.dataset_version}"
