"""Launching a training job from a page. The form's selects follow each other through htmx:
the project decides the dataset versions offered, the version the target columns, the template
the hyperparameter inputs (generated from `workers.training.param_schema`)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from rest_framework.exceptions import ValidationError

from apps.core import selectors as core_selectors
from apps.core.models import Role
from apps.core.permissions import has_role
from apps.datasets.selectors import dataset_version_list
from apps.datasets.views.common import projects_open_to
from apps.experiments import selectors, services
from apps.experiments.forms import PARAM_PREFIX, TrainingJobForm, param_text

PARTS = {
    "versions": "experiments/partials/version_fields.html",
    "target": "experiments/partials/target_field.html",
    "params": "experiments/partials/param_fields.html",
}


def _form(request: HttpRequest, data: QueryDict | None, initial: dict[str, Any]) -> TrainingJobForm:
    return TrainingJobForm(
        data,
        projects=projects_open_to(request, Role.CONTRIBUTOR),
        versions=dataset_version_list(user=request.user),
        experiments=selectors.experiment_list(user=request.user),
        initial=initial,
    )


def _initial(request: HttpRequest) -> dict[str, Any]:
    """?project=, ?dataset_version=, ?template= preselect; ?from=<job id> copies a job's
    settings, to change one thing and run again."""
    initial = {
        key: request.GET[key]
        for key in ("project", "dataset_version", "template", "target", "task", "experiment")
        if request.GET.get(key)
    }
    source = request.GET.get("from", "")
    if source.isdigit():
        training = selectors.training_job_list(user=request.user).filter(pk=int(source)).first()
        if training is not None:
            initial |= {
                "project": training.experiment.project.slug,
                "experiment": training.experiment.name,
                "dataset_version": training.dataset_version_id,
                "target": training.target,
                "task": training.task,
                "template": training.template,
                "model_name": training.model_name,
            }
            initial |= {
                PARAM_PREFIX + name: value if isinstance(value, bool) else param_text({}, value)
                for name, value in (training.params or {}).items()
            }
    return initial


@login_required
def training_job_new(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    if posted:
        _refuse_members_below_contributor(request)
    form = _form(request, request.POST if posted else None, _initial(request))
    if posted and form.is_valid():
        try:
            training = services.training_job_create(actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc.detail)
        else:
            name = training.experiment.name
            messages.success(
                request, f"Training job #{training.pk} is queued in experiment '{name}'."
            )
            return redirect("training-job", pk=training.pk)
    has_projects = form.fields["project"].queryset.exists()
    return render(request, "experiments/launch.html", {"form": form, "has_projects": has_projects})


def _refuse_members_below_contributor(request: HttpRequest) -> None:
    """A viewer naming their own project gets 403, as the API answers. Projects the user is not
    in are no choice at all ("not one of the available choices"): nothing is revealed."""
    slug = request.POST.get("project", "")
    if not slug or "\x00" in slug:
        return
    project = core_selectors.project_list(user=request.user).filter(slug=slug).first()
    if project is not None and not has_role(request.user, project, Role.CONTRIBUTOR):
        raise PermissionDenied(f"Launching training jobs needs the contributor role in '{slug}'.")


@login_required
@require_GET
def training_job_form_part(request: HttpRequest, part: str) -> HttpResponse:
    """One group of the launch form, re-rendered for the values chosen so far (htmx)."""
    if part not in PARTS:
        raise Http404(part)
    form = _form(request, None, request.GET.dict())
    return render(request, PARTS[part], {"form": form})
