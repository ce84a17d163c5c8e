"""Shared by the training pages: lookups that apply the project rules of apps.core, and the
numbers pages show for a run (primary metric, ETA, resources).

Non-members get 404 (they never learn a job exists); members whose role is too low get 403.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat

from apps.core.models import Role
from apps.core.models.jobs import ACTIVE_STATUSES
from apps.core.permissions import has_role
from apps.experiments import selectors
from apps.experiments.models import Task, TrainingJob

# Large JSON the lists never show: leave it in the database.
LIST_DEFERRED = (
    "history",
    "log_tail",
    "params",
    "resources",
    "dataset_version__schema",
    "dataset_version__profile",
    "dataset_version__validation",
    "job__params",
    "job__result",
)
PRIMARY_METRICS = {Task.CLASSIFICATION: "accuracy", Task.REGRESSION: "rmse"}


def training_for(request: HttpRequest, pk: int, role: str = Role.VIEWER) -> TrainingJob:
    training = get_object_or_404(selectors.training_job_list(user=request.user), pk=pk)
    project = training.experiment.project
    if not has_role(request.user, project, role):
        raise PermissionDenied(f"This needs the {role} role in project '{project.slug}'.")
    return training


def can_contribute(request: HttpRequest, training: TrainingJob) -> bool:
    return has_role(request.user, training.experiment.project, Role.CONTRIBUTOR)


def is_active(training: TrainingJob) -> bool:
    return training.job.status in ACTIVE_STATUSES


def primary_metric(training: TrainingJob) -> tuple[str, float | None]:
    """The number a runs table compares: accuracy for classification, rmse for regression
    (the final value, whichever split the trainer named it after)."""
    name = PRIMARY_METRICS.get(training.task, "")
    metrics = training.metrics or {}
    for key in (name, f"val_{name}", f"test_{name}"):
        value = metrics.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return name, float(value)
    return name, None


def short(value: Any) -> Any:
    """Four significant digits for floats (a loss of 0.693147180559 reads as 0.6931)."""
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    return value


def duration_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def eta_text(training: TrainingJob, now: datetime) -> str:
    """What is left, extrapolated from the time spent so far and the progress made."""
    job = training.job
    if job.status == "queued":
        return f"waiting for a worker on the {job.queue} queue"
    if job.status != "running":
        return ""
    if not job.started_at or job.progress <= 0:
        return "estimating the time left…"
    if job.progress >= 1:
        return "finishing…"
    elapsed = (now - job.started_at).total_seconds()
    return f"about {duration_text(elapsed * (1 - job.progress) / job.progress)} left"


def metric_rows(training: TrainingJob) -> list[dict[str, Any]]:
    primary, _ = primary_metric(training)
    names = sorted(training.metrics or {}, key=lambda n: (primary not in n, n))
    return [
        {"name": name, "value": short(training.metrics[name]), "primary": primary in name}
        for name in names
    ]


RESOURCE_LABELS = {
    "device": "Device",
    "gpu_name": "GPU",
    "wall_seconds": "Wall time",
    "cpu_seconds": "CPU time",
    "gpu_seconds": "GPU time",
    "peak_rss_mb": "Peak RSS",
    "peak_rss_bytes": "Peak RSS",
    "peak_gpu_mem_mb": "Peak GPU memory",
}


def resource_rows(resources: dict[str, Any]) -> list[tuple[str, str]]:
    """Known keys first, with units; whatever else the trainer measured after them."""
    order = [key for key in RESOURCE_LABELS if key in resources]
    order += sorted(key for key in resources if key not in RESOURCE_LABELS)
    rows = []
    for key in order:
        value = resources[key]
        if value is None or value == "":
            continue
        if key.endswith("_bytes") and isinstance(value, int | float):
            text = filesizeformat(value)
        elif key.endswith("_mb") and isinstance(value, int | float):
            text = f"{value:.4g} MB"
        elif key.endswith("_seconds") and isinstance(value, int | float):
            text = f"{value:.3g} s" if value < 60 else f"{duration_text(value)} ({value:.0f} s)"
        elif isinstance(value, dict):
            text = ", ".join(f"{k.replace('_', ' ')} {short(v)}" for k, v in value.items())
        else:
            text = str(short(value))
        label = RESOURCE_LABELS.get(key) or key.replace("_", " ").capitalize()
        rows.append((label, text))
    return rows
