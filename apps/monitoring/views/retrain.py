"""The continuous-training page of a registered model: its retrain policy (a form for
contributors), a "retrain now" button, and the run history with links along the lineage."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from apps.core.models import Role
from apps.core.permissions import has_role
from apps.monitoring.models import RetrainData, RetrainPolicy, RetrainStatus, RetrainTrigger
from apps.monitoring.selectors.retrain import retrain_policy_for_model, retrain_run_list
from apps.monitoring.services.retrain import (
    retrain_policy_create,
    retrain_policy_delete,
    retrain_policy_update,
    retrain_trigger,
)
from apps.monitoring.services.retrain_data import production_version
from apps.monitoring.services.retrain_messages import error_text
from apps.monitoring.services.retrain_policies import (
    FIELDS,
    MAX_COOLDOWN_MINUTES,
    MAX_LABELLED_DAYS,
    MAX_SCHEDULE_HOURS,
)
from apps.registry.models import RegisteredModel
from apps.registry.views.common import model_for

PAGE_SIZE = 50
STATUS_CLASS = {
    RetrainStatus.SKIPPED: "status-cancelled",
    RetrainStatus.PREPARING_DATA: "status-processing",
    RetrainStatus.TRAINING: "status-running",
    RetrainStatus.REQUESTED: "status-succeeded",
    RetrainStatus.FAILED: "status-failed",
}


class RetrainPolicyForm(forms.Form):
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled")
    on_drift_alert = forms.BooleanField(
        required=False, initial=True, label="Retrain when a drift alert opens"
    )
    on_new_dataset_version = forms.BooleanField(
        required=False, label="Retrain when a new version of its dataset is ready"
    )
    schedule_hours = forms.IntegerField(
        min_value=0, max_value=MAX_SCHEDULE_HOURS, initial=0,
        label="Retrain every (hours)", help_text="0: no schedule.",
    )  # fmt: skip
    data = forms.ChoiceField(choices=RetrainData.choices, initial=RetrainData.LATEST)
    labelled_days = forms.IntegerField(
        min_value=1, max_value=MAX_LABELLED_DAYS, initial=30,
        label="Labelled predictions of the last (days)",
        help_text="Used with reference data plus recent labelled predictions.",
    )  # fmt: skip
    cooldown_minutes = forms.IntegerField(
        min_value=0, max_value=MAX_COOLDOWN_MINUTES, initial=360, label="Cooldown (minutes)",
        help_text="No new retraining within this long of the last one launched.",
    )  # fmt: skip

    @classmethod
    def for_policy(cls, policy: RetrainPolicy | None) -> RetrainPolicyForm:
        if policy is None:
            return cls()
        return cls(initial={field: getattr(policy, field) for field in FIELDS})


def _context(
    request: HttpRequest, model: RegisteredModel, form: RetrainPolicyForm | None = None
) -> dict[str, Any]:
    policy = retrain_policy_for_model(model=model)
    can_edit = has_role(request.user, model.project, Role.CONTRIBUTOR)
    page = None
    if policy is not None:
        page = Paginator(retrain_run_list(policy=policy), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
    return {
        "model": model,
        "policy": policy,
        "production": production_version(model),
        "form": (form or RetrainPolicyForm.for_policy(policy)) if can_edit else None,
        "can_edit": can_edit,
        "is_admin": has_role(request.user, model.project, Role.ADMIN),
        "page": page,
        "rows": [
            {"run": run, "css": STATUS_CLASS.get(run.status, "")}
            for run in (page.object_list if page is not None else [])
        ],
    }


@login_required
def retraining(request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows the page; POST (contributor) creates or saves the policy."""
    if request.method != "POST":
        model = model_for(request, pk)
        return render(request, "monitoring/retrain.html", _context(request, model))
    model = model_for(request, pk, Role.CONTRIBUTOR)
    form = RetrainPolicyForm(request.POST)
    if form.is_valid():
        policy = retrain_policy_for_model(model=model)
        try:
            if policy is None:
                retrain_policy_create(
                    actor=request.user, registered_model=model, **form.cleaned_data
                )
            else:
                retrain_policy_update(actor=request.user, policy=policy, **form.cleaned_data)
        except APIException as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(request, "Retrain policy saved.")
            return redirect("model-retraining", pk=model.pk)
    return render(request, "monitoring/retrain.html", _context(request, model, form), status=400)


@login_required
@require_POST
def retraining_trigger(request: HttpRequest, pk: int) -> HttpResponse:
    model = model_for(request, pk, Role.CONTRIBUTOR)
    policy = retrain_policy_for_model(model=model)
    if policy is None:
        messages.error(request, "Create the retrain policy first.")
        return redirect("model-retraining", pk=model.pk)
    run = retrain_trigger(policy=policy, trigger=RetrainTrigger.MANUAL, actor=request.user)
    if run is None:
        messages.error(request, "The policy is disabled: enable it to retrain.")
    elif run.status == RetrainStatus.SKIPPED:
        messages.error(request, f"Not retrained: {run.reason}")
    else:
        messages.success(request, f"Retraining run #{run.pk} is {run.get_status_display()}.")
    return redirect("model-retraining", pk=model.pk)


@login_required
@require_POST
def retraining_delete(request: HttpRequest, pk: int) -> HttpResponse:
    model = model_for(request, pk, Role.ADMIN)
    policy = retrain_policy_for_model(model=model)
    if policy is not None:
        retrain_policy_delete(actor=request.user, policy=policy)
        messages.success(request, "Retrain policy deleted.")
    return redirect("model-retraining", pk=model.pk)
