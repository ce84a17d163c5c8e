from __future__ import annotations

from django.conf import settings
from django.db import models


class Strategy(models.TextChoices):
    GRID = "grid", "Grid"
    RANDOM = "random", "Random"


class Direction(models.TextChoices):
    MAXIMIZE = "max", "Higher is better"
    MINIMIZE = "min", "Lower is better"


class SweepStatus(models.TextChoices):
    """running → succeeded | failed | cancelled.

    A sweep ends when its last trial ends: succeeded when at least one trial succeeded,
    failed when none did; cancelling it cancels its active trials."""

    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


SWEEP_TRANSITIONS = {
    SweepStatus.RUNNING: (SweepStatus.SUCCEEDED, SweepStatus.FAILED, SweepStatus.CANCELLED),
}


class Sweep(models.Model):
    """A search over a template's parameters: `plan` holds every trial's parameters, decided
    up front (reproducible from the seed); trials are launched as training jobs, at most
    `max_parallel` active at once."""

    project = models.ForeignKey("core.Project", on_delete=models.PROTECT, related_name="sweeps")
    experiment = models.ForeignKey(
        "experiments.Experiment", on_delete=models.PROTECT, related_name="sweeps"
    )
    name = models.CharField(max_length=200, blank=True)
    dataset_version = models.ForeignKey(
        "datasets.DatasetVersion", on_delete=models.PROTECT, related_name="sweeps"
    )
    target = models.CharField(max_length=200)
    task = models.CharField(max_length=20)
    template = models.CharField(max_length=50)
    model_name = models.CharField(max_length=200)
    base_params = models.JSONField(default=dict, blank=True)
    space = models.JSONField(default=dict)
    strategy = models.CharField(max_length=10, choices=Strategy.choices)
    max_trials = models.PositiveIntegerField()
    max_parallel = models.PositiveIntegerField()
    metric = models.CharField(max_length=100)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    seed = models.IntegerField(default=0)
    plan = models.JSONField(default=list)
    status = models.CharField(
        max_length=20, choices=SweepStatus.choices, default=SweepStatus.RUNNING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"sweep #{self.pk} {self.name or self.template}"
