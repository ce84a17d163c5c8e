"""Registered models: the list of my projects' models, and a model's page (versions, card,
promotion policies, stage history with "what was in production at <date>")."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from apps.core import selectors as core_selectors
from apps.core.models import Role
from apps.core.permissions import has_role
from apps.registry.forms import AtForm, CardForm, PolicyForm
from apps.registry.models import PromotionPolicy, RegisteredModel
from apps.registry.selectors import models as selectors
from apps.registry.selectors.policies import policy_for
from apps.registry.services.cards import card_update
from apps.registry.services.policies import POLICY_STAGES, policy_update
from apps.registry.views.common import card_context, model_for, url_or_empty

PAGE_SIZE = 50


@login_required
def model_list(request: HttpRequest) -> HttpResponse:
    models = selectors.registered_model_list(user=request.user)
    project = request.GET.get("project", "")
    if project:
        models = models.filter(project__slug=project)
    page = Paginator(models, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "project": project,
        "projects": core_selectors.project_list(user=request.user),
        "query": query.urlencode(),
    }
    return render(request, "registry/model_list.html", context)


def _task_of(versions: list) -> str:
    for version in versions:
        if version.training_job is not None:
            return version.training_job.task
    return ""


def _history(model: RegisteredModel, at_form: AtForm) -> dict[str, Any]:
    entries = selectors.model_history(model=model)
    for entry in entries:
        entry["request_url"] = (
            url_or_empty("promotion", entry["request"]) if entry["request"] else ""
        )
    stages_at = None
    if at_form.is_bound and at_form.is_valid():
        stages_at = selectors.stages_at(model=model, at=at_form.cleaned_data["at"])
    return {"history": entries, "at_form": at_form, "stages_at": stages_at}


def _model_context(
    request: HttpRequest, model: RegisteredModel, card_form=None, policy_forms=None
) -> dict[str, Any]:
    versions = selectors.version_list_for(user=request.user, model=model)
    page = Paginator(versions, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    task = _task_of(rows)
    policies = [policy_for(model, stage, task=task) for stage in POLICY_STAGES]
    primary = policies[-1].primary_metric
    is_admin = has_role(request.user, model.project, Role.ADMIN)
    stored = {p.stage: p for p in PromotionPolicy.objects.filter(registered_model=model)}
    forms = policy_forms or {}
    at_form = AtForm(request.GET if "at" in request.GET else None)
    return {
        "model": model,
        "page": page,
        "rows": [
            {"version": v, "primary": selectors.primary_value(v.metrics, primary)} for v in rows
        ],
        "primary_metric": primary,
        "policies": [
            {
                "policy": policy,
                "form": (
                    forms.get(policy.stage)
                    or PolicyForm.for_policy(policy, stored.get(policy.stage))
                )
                if is_admin
                else None,
            }
            for policy in policies
        ],
        "is_admin": is_admin,
        **card_context(request, model, model.project, card_form),
        **_history(model, at_form),
    }


@login_required
def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    model = model_for(request, pk)
    context = _model_context(request, model)
    status = 400 if context["at_form"].errors else 200
    return render(request, "registry/model_detail.html", context, status=status)


@login_required
@require_POST
def model_card_edit(request: HttpRequest, pk: int) -> HttpResponse:
    model = model_for(request, pk, Role.CONTRIBUTOR)
    form = CardForm(request.POST, card=model.card)
    if form.is_valid():
        card_update(actor=request.user, obj=model, sections=form.cleaned_data)
        messages.success(request, "Model card saved.")
        return redirect("model", pk=model.pk)
    context = _model_context(request, model, card_form=form)
    return render(request, "registry/model_detail.html", context, status=400)


@login_required
@require_POST
def model_policy_edit(request: HttpRequest, pk: int, stage: str) -> HttpResponse:
    model = model_for(request, pk, Role.ADMIN)
    if stage not in POLICY_STAGES:
        messages.error(request, f"There is no policy for stage '{stage}'.")
        return redirect("model", pk=model.pk)
    form = PolicyForm(request.POST, prefix=stage)
    if form.is_valid():
        try:
            policy_update(actor=request.user, model=model, stage=stage, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, str(error.detail))
        else:
            messages.success(request, f"Promotion policy for {stage} saved.")
            return redirect("model", pk=model.pk)
    context = _model_context(request, model, policy_forms={stage: form})
    return render(request, "registry/model_detail.html", context, status=400)
