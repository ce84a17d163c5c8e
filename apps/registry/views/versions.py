"""A model version's page (lineage, metrics, signature, stage, card, open promotion requests)
and the compare page for two versions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core.models import Role
from apps.core.permissions import has_role
from apps.registry.forms import CardForm
from apps.registry.models import ModelVersion, Stage, StageChange
from apps.registry.selectors import models as selectors
from apps.registry.selectors.compare import metric_rows, signature_diff, signature_rows
from apps.registry.services.cards import card_update
from apps.registry.views.common import card_context, url_or_empty, version_for

MAX_PICKER = 200
MAX_ID = 2**31 - 1


def _metrics(version: ModelVersion) -> list[dict]:
    return [{"name": k, "value": v} for k, v in sorted((version.metrics or {}).items())]


def _version_context(request: HttpRequest, version: ModelVersion, card_form=None) -> dict:
    project = version.registered_model.project
    last_change = (
        StageChange.objects.filter(model_version=version)
        .select_related("changed_by", "request__requested_by")
        .first()
    )
    siblings = (
        ModelVersion.objects.filter(registered_model_id=version.registered_model_id)
        .exclude(pk=version.pk)
        .order_by("-version")
        .values_list("pk", "version", "stage")[:MAX_PICKER]
    )
    can_request = has_role(request.user, project, Role.CONTRIBUTOR) and version.stage in (
        Stage.NONE,
        Stage.STAGING,
    )
    new_url = url_or_empty("promotion-new")
    return {
        "version": version,
        "model": version.registered_model,
        "project": project,
        "metrics": _metrics(version),
        "inputs": (version.signature or {}).get("inputs") or [],
        "signature": version.signature or {},
        "last_change": last_change,
        "last_request_url": (
            url_or_empty("promotion", last_change.request_id)
            if last_change and last_change.request_id
            else ""
        ),
        "open_requests": [
            {"request": r, "url": url_or_empty("promotion", r.pk)}
            for r in selectors.open_requests(version=version)
        ],
        "promotion_url": f"{new_url}?version={version.pk}" if new_url and can_request else "",
        "siblings": list(siblings),
        **card_context(request, version, project, card_form),
    }


@login_required
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = version_for(request, pk)
    return render(request, "registry/version_detail.html", _version_context(request, version))


@login_required
@require_POST
def version_card_edit(request: HttpRequest, pk: int) -> HttpResponse:
    version = version_for(request, pk, Role.CONTRIBUTOR)
    form = CardForm(request.POST, card=version.card)
    if form.is_valid():
        card_update(actor=request.user, obj=version, sections=form.cleaned_data)
        messages.success(request, "Version card saved.")
        return redirect("model-version", pk=version.pk)
    context = _version_context(request, version, card_form=form)
    return render(request, "registry/version_detail.html", context, status=400)


def _ids(request: HttpRequest) -> tuple[int, int] | None:
    try:
        a, b = int(request.GET.get("a", "")), int(request.GET.get("b", ""))
    except ValueError:
        return None
    if not (0 < a <= MAX_ID and 0 < b <= MAX_ID):
        return None
    return a, b


@login_required
def model_compare(request: HttpRequest) -> HttpResponse:
    ids = _ids(request)
    if ids is None:
        messages.error(request, "Pick two model versions to compare (?a=ID&b=ID).")
        return redirect("models")
    found = {v.pk: v for v in selectors.model_version_list(user=request.user).filter(pk__in=ids)}
    if any(pk not in found for pk in ids):
        raise Http404("Model version not found.")
    a, b = found[ids[0]], found[ids[1]]
    metrics = metric_rows(a.metrics, b.metrics)
    label_a, label_b = (f"{v.registered_model.name} v{v.version}" for v in (a, b))
    # Read by static/js/registry.js (json_script: names stay data, never markup).
    chart = {
        "labels": [label_a, label_b],
        "metrics": [m["name"] for m in metrics if m["a"] is not None or m["b"] is not None],
        "a": [m["a"] for m in metrics if m["a"] is not None or m["b"] is not None],
        "b": [m["b"] for m in metrics if m["a"] is not None or m["b"] is not None],
    }
    context = {
        "a": a,
        "b": b,
        "metrics": metrics,
        "signature_rows": signature_rows(a, b),
        "signature": signature_diff(a.signature, b.signature),
        "chart": chart,
    }
    return render(request, "registry/model_compare.html", context)
