from __future__ import annotations

from django.db import models


class RunStatus(models.TextChoices):
    RUNNING = "RUNNING", "Running"
    SCHEDULED = "SCHEDULED", "Scheduled"
    FINISHED = "FINISHED", "Finished"
    FAILED = "FAILED", "Failed"
    KILLED = "KILLED", "Killed"


class Run(models.Model):
    """A run of the MLflow tracking store, mirrored so that the runs table filters and sorts
    in the portal's database (by any metric or parameter) with a fixed number of queries.

    MLflow stays the source of truth: a portal job's run is mirrored when the job ends, and
    every run of the store (scripts and notebooks that call `mlflow.start_run()` included,
    marked `external`) by the periodic sync. `metrics` holds each metric's latest value.
    """

    experiment = models.ForeignKey(
        "experiments.Experiment", on_delete=models.CASCADE, related_name="runs"
    )
    mlflow_run_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=250, blank=True)
    status = models.CharField(max_length=20, choices=RunStatus.choices)
    external = models.BooleanField(default=False, help_text="Logged outside the portal.")
    training_job = models.OneToOneField(
        "experiments.TrainingJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="run",
    )
    dataset_version = models.ForeignKey(
        "datasets.DatasetVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    template = models.CharField(max_length=50, blank=True)
    user = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_time", "-id"]
        indexes = [models.Index(fields=["experiment", "-start_time"], name="run_exp_start")]

    def __str__(self) -> str:
        return self.name or self.mlflow_run_id
