"""Promotion pages: the review queue, the request form, and a request's page (candidate vs
champion, gates, dataset diff, lineage, reviews, and the forms to decide it)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from rest_framework.exceptions import APIException

from apps.core.models import Role
from apps.core.permissions import has_role, scope_to_member_projects
from apps.registry.models import ModelVersion, PromotionRequest, RequestStatus
from apps.registry.selectors.promotions import promotion_list, review_queue
from apps.registry.services import promotions as services
from apps.registry.services.gates import champion_of, gates_run, signature_diff
from apps.registry.views.promotion_parts import dataset_diff, lineage, metric_rows, registry_url

STATUS_CLASS = {
    RequestStatus.PENDING: "status-pending",
    RequestStatus.APPROVED: "status-succeeded",
    RequestStatus.REJECTED: "status-failed",
    RequestStatus.CANCELLED: "status-cancelled",
    RequestStatus.EXPIRED: "status-cancelled",
}


class PromotionForm(forms.Form):
    target = forms.ChoiceField(choices=[("staging", "Staging"), ("production", "Production")])
    justification = forms.CharField(
        max_length=5000, widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Why this version should be promoted: what changed, how it was evaluated.",
    )  # fmt: skip


def error_text(exc: APIException) -> str:
    detail = exc.detail
    if isinstance(detail, dict):
        return " ".join(
            f"{'' if key in ('detail', 'non_field_errors') else key + ': '}"
            f"{' '.join(str(v) for v in (value if isinstance(value, list) else [value]))}"
            for key, value in detail.items()
        )
    if isinstance(detail, list):
        return " ".join(str(v) for v in detail)
    return str(detail)


@login_required
def reviews(request: HttpRequest) -> HttpResponse:
    queue = review_queue(user=request.user)
    for rows in queue.values():
        for row in rows:
            row.status_class = STATUS_CLASS.get(row.status, "")
    return render(request, "registry/reviews.html", queue)


def _version_for(request: HttpRequest, raw: str | None) -> ModelVersion:
    if not raw or not str(raw).isdigit() or len(str(raw)) > 18:
        raise_404()
    versions = scope_to_member_projects(
        ModelVersion.objects.select_related("registered_model__project", "training_job__job"),
        request.user,
        "registered_model__project",
    )
    return get_object_or_404(versions, pk=int(raw))


def raise_404() -> None:
    from django.http import Http404

    raise Http404("No such model version.")


@login_required
def promotion_new(request: HttpRequest) -> HttpResponse:
    version = _version_for(request, request.GET.get("version") or request.POST.get("version"))
    project = version.registered_model.project
    if not has_role(request.user, project, Role.CONTRIBUTOR):
        raise PermissionDenied(f"Requesting a promotion needs the contributor role in {project}.")
    form = PromotionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = services.promotion_request_create(
                    actor=request.user, model_version=version, **form.cleaned_data
                )
            except APIException as exc:
                messages.error(request, error_text(exc))
                status = exc.status_code
            else:
                messages.success(request, f"Promotion request #{created.pk} sent to reviewers.")
                return redirect("promotion", created.pk)
        else:
            status = 400
    target = form["target"].value() or "staging"
    preview, champion = gates_run(version, target if target in services.TARGETS else "staging")
    context = {
        "form": form,
        "version": version,
        "model": version.registered_model,
        "model_url": registry_url("model", version.registered_model_id),
        "version_url": registry_url("model-version", version.pk),
        "preview": preview,
        "preview_target": target,
        "champion": champion,
    }
    return render(request, "registry/promotion_new.html", context, status=status)


@login_required
def promotion_detail(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(promotion_list(user=request.user), pk=pk)
    return render(request, "registry/promotion_detail.html", detail_context(request, row))


def detail_context(request: HttpRequest, row: PromotionRequest) -> dict[str, Any]:
    version = row.model_version
    project = version.registered_model.project
    pending = row.status == RequestStatus.PENDING
    # While pending, compare with whoever holds the stage now; afterwards, with whom it replaced.
    champion = champion_of(version, row.target) if pending else row.champion
    user = request.user
    reviewed = any(r.reviewer_id == user.pk for r in row.reviews.all())
    is_reviewer = has_role(user, project, Role.REVIEWER)
    metrics, chart = metric_rows(version, champion)
    return {
        "req": row,
        "status_class": STATUS_CLASS.get(row.status, ""),
        "version": version,
        "model": version.registered_model,
        "project": project,
        "champion": champion,
        "model_url": registry_url("model", version.registered_model_id),
        "version_url": registry_url("model-version", version.pk),
        "champion_url": registry_url("model-version", champion.pk) if champion else "",
        "metrics": metrics,
        "chart": chart,
        "failing": [g for g in row.gates if not g["passed"]],
        "signature": signature_diff(version.signature, champion.signature) if champion else None,
        "diff": dataset_diff(version, champion),
        "lineage": lineage(version),
        "can_review": pending and is_reviewer and row.requested_by_id != user.pk and not reviewed,
        "own": row.requested_by_id == user.pk,
        "reviewed": reviewed,
        "can_cancel": pending
        and (row.requested_by_id == user.pk or has_role(user, project, Role.ADMIN)),
        "can_override": pending and has_role(user, project, Role.ADMIN) and not row.gates_passed,
    }
