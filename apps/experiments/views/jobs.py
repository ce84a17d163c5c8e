"""A training job's page: status, progress with ETA, live loss and metric curves, the log tail,
the outcome (metrics, resources, cost, MLflow run, model version), cancel and run again.

While the job is queued or running, the live part of the page polls `training_job_live` every
2 s (htmx) and static/js/training.js redraws the curves from the history each answer carries.
The answer that finds the job complete has no polling attribute, which ends the polling.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from apps.core.models import Role
from apps.datasets.views.common import error_messages
from apps.experiments import services
from apps.experiments.forms import param_text
from apps.experiments.models import TrainingJob
from apps.experiments.views.common import (
    can_contribute,
    eta_text,
    is_active,
    metric_rows,
    primary_metric,
    resource_rows,
    training_for,
)


@login_required
def training_job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    training = training_for(request, pk)
    context = _live_context(request, training)
    context["params"] = [
        (name, param_text({}, value)) for name, value in sorted((training.params or {}).items())
    ]
    return render(request, "experiments/job_detail.html", context)


@login_required
def training_job_live(request: HttpRequest, pk: int) -> HttpResponse:
    training = training_for(request, pk)
    return render(request, "experiments/partials/job_live.html", _live_context(request, training))


def _live_context(request: HttpRequest, training: TrainingJob) -> dict[str, Any]:
    job = training.job
    active = is_active(training)
    editable = can_contribute(request, training)
    model_version = getattr(training, "model_version", None)
    primary, _ = primary_metric(training)
    return {
        "training": training,
        "job": job,
        "poll": active,
        "percent": round(job.progress * 100),
        # "epoch n/N" is shown by itself; other messages ("cancelled") next to the bar.
        "message": "" if job.message.startswith("epoch ") else job.message,
        "eta": eta_text(training, timezone.now()),
        "metrics": metric_rows(training),
        "resources": resource_rows(training.resources or {}),
        "model_version": model_version,
        "model_version_url": _model_version_url(model_version),
        "can_contribute": editable,
        "can_cancel": editable and active,
        "can_rerun": editable and job.is_complete,
        # Read by static/js/training.js (json_script: every string stays data, never markup).
        "chart": {
            "history": training.history or [],
            "task": training.task,
            "epochs": training.epochs,
            "primary": primary,
        },
    }


def _model_version_url(version: Any) -> str:
    """The registry's page for the version when there is one, else its API resource."""
    if version is None:
        return ""
    for name in ("model-version", "model-version-detail"):
        try:
            return reverse(name, args=[version.pk])
        except NoReverseMatch:
            continue
    return ""


@login_required
@require_POST
def training_job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    training = training_for(request, pk, Role.CONTRIBUTOR)
    try:
        services.training_job_cancel(actor=request.user, training=training)
    except APIException as exc:  # it ended meanwhile: say so, show the page as it is now
        messages.error(request, " ".join(error_messages(exc.detail)))
    else:
        messages.success(request, f"Cancelled training job #{training.pk}.")
    return redirect("training-job", pk=training.pk)


@login_required
@require_POST
def training_job_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    training = training_for(request, pk, Role.CONTRIBUTOR)
    try:
        rerun = services.training_job_rerun(actor=request.user, training=training)
    except APIException as exc:
        messages.error(request, "Could not run it again: " + " ".join(error_messages(exc.detail)))
        return redirect("training-job", pk=training.pk)
    messages.success(request, f"Training job #{rerun.pk} runs #{training.pk} again.")
    return redirect("training-job", pk=rerun.pk)
