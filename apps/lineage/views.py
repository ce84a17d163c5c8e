"""Lineage pages: the interactive graph around one node, and the impact block ("what depends
on this") shown on dataset version and model version pages, with its review request."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from rest_framework.exceptions import APIException

from apps.core.models import Role
from apps.core.permissions import has_role
from apps.lineage.api.views import LineageQuerySerializer
from apps.lineage.impact import IMPACT_KINDS, MAX_REASON, impact_of, impact_review_request
from apps.lineage.selectors import DIRECTIONS, lineage_graph

# Left to right: data → jobs → models → promotions → deployments → drift reports. Types the
# selector may add later that are not listed here go in a last column rather than vanish.
LAYERS = (
    "dataset", "dataset_version", "training_job", "sweep", "model_version", "promotion",
    "deployment_revision", "deployment", "monitor", "drift_report",
)  # fmt: skip
TYPE_LABELS = {
    "dataset": "Dataset", "dataset_version": "Dataset version", "training_job": "Training job",
    "sweep": "Sweep", "model_version": "Model version", "promotion": "Promotion",
    "deployment_revision": "Revision", "deployment": "Deployment", "monitor": "Monitor",
    "drift_report": "Drift report",
}  # fmt: skip
DEPTHS = (1, 2, 3, 5, 10)


def _errors(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [f"{key}: {msg}" for key, value in detail.items() for msg in _errors(value)]
    if isinstance(detail, list):
        return [msg for value in detail for msg in _errors(value)]
    return [str(detail)]


def _parse(request: HttpRequest) -> tuple[dict | None, list[str]]:
    # The API's own validation: the page and GET /api/v1/lineage/ accept exactly the same input.
    query = LineageQuerySerializer(data=request.GET)
    if not query.is_valid():
        return None, _errors(query.errors)
    return dict(query.validated_data), []


@login_required
@require_safe
def lineage_page(request: HttpRequest) -> HttpResponse:
    params, errors = _parse(request)
    if params is None:
        context = {"errors": errors, "node": request.GET.get("node", "")[:60]}
        return render(request, "lineage/error.html", context, status=400)
    kind, pk = params.pop("node")
    graph = lineage_graph(user=request.user, kind=kind, pk=pk, **params)
    if graph is None:
        raise Http404(f"No {kind} {pk}.")
    start = f"{kind}:{pk}"
    present = {node["type"] for node in graph["nodes"]}
    layers = [t for t in LAYERS if t in present] + sorted(present - set(LAYERS))
    by_layer = {t: i for i, t in enumerate(layers)}
    nodes = sorted(graph["nodes"], key=lambda n: (by_layer[n["type"]], n["id"]))
    rows = [{**n, "type_label": TYPE_LABELS.get(n["type"], n["type"])} for n in nodes]
    context = {
        "graph": {
            "start": start,
            "nodes": graph["nodes"],
            "edges": graph["edges"],
            "layers": [{"type": t, "label": TYPE_LABELS.get(t, t)} for t in layers],
        },
        "rows": rows,
        "start": next(n for n in graph["nodes"] if n["id"] == start),
        "start_type_label": TYPE_LABELS.get(kind, kind),
        "node": start,
        "direction": params.get("direction", "both"),
        "directions": DIRECTIONS,
        "depth": params.get("depth"),
        "depths": DEPTHS if "depth" in LineageQuerySerializer().fields else (),
        "impact_node": start if kind in IMPACT_KINDS else "",
    }
    return render(request, "lineage/graph.html", context)


class ReviewRequestForm(forms.Form):
    node = forms.RegexField(regex=r"^[a-z_]+:\d{1,10}$", max_length=40)
    reason = forms.CharField(
        max_length=MAX_REASON, strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "e.g. rows from 3 to 5 May are "
                                     "duplicated; the labels of region EU are wrong"}),
        help_text="Why these models need another look; reviewers read it in their inbox.",
    )  # fmt: skip


def _split(node: str | None) -> tuple[str, int] | None:
    kind, _, pk = (node or "").partition(":")
    if kind not in IMPACT_KINDS or not (pk.isascii() and pk.isdigit()) or len(pk) > 10:
        return None
    return kind, int(pk)


def _impact_context(request: HttpRequest, node: str, form: ReviewRequestForm | None = None):
    parsed = _split(node)
    if parsed is None:
        raise Http404("Impact analysis is for dataset versions and model versions.")
    impact = impact_of(user=request.user, kind=parsed[0], pk=parsed[1])
    if impact is None:
        raise Http404("Not found.")
    can_request = has_role(request.user, impact.project, Role.CONTRIBUTOR) and bool(impact.versions)
    return {
        "impact": impact,
        "counts": impact.counts,
        "can_request": can_request,
        "form": form or ReviewRequestForm(initial={"node": impact.node_id}),
    }


@login_required
@require_safe
def impact_page(request: HttpRequest) -> HttpResponse:
    """The impact block alone for htmx (the object pages load it), or as a page of its own."""
    context = _impact_context(request, request.GET.get("node", ""))
    if request.headers.get("HX-Request") == "true":
        return render(request, "lineage/partials/impact_block.html", context)
    return render(request, "lineage/impact.html", context)


@login_required
@require_POST
def impact_review(request: HttpRequest) -> HttpResponse:
    node = request.POST.get("node", "")
    context = _impact_context(request, node)  # 404 before anything else
    impact = context["impact"]
    if not has_role(request.user, impact.project, Role.CONTRIBUTOR):
        raise PermissionDenied(f"This needs the contributor role in '{impact.project.slug}'.")
    form = ReviewRequestForm(request.POST)
    if form.is_valid():
        try:
            impact, told = impact_review_request(
                actor=request.user, kind=impact.kind, pk=impact.node.pk,
                reason=form.cleaned_data["reason"],
            )  # fmt: skip
        except APIException as error:
            if error.status_code == 404:
                raise Http404("Not found.") from error
            if error.status_code == 403:
                raise PermissionDenied(str(error.detail)) from error
            for field, messages_ in _field_errors(error.detail):
                form.add_error(field if field in form.fields else None, messages_)
        else:
            count = len(impact.versions)
            messages.success(
                request,
                f"Review requested for {count} model version{pluralize(count)}; {told} "
                f"reviewer{pluralize(told)} and admin{pluralize(told)} notified. "
                "No stage was changed.",
            )
            name = "dataset-version-detail" if impact.kind == "dataset_version" else "model-version"
            return redirect(f"{reverse(name, args=[impact.node.pk])}#impact")
    context["form"] = form
    return render(request, "lineage/impact.html", context, status=400)


def _field_errors(detail: Any) -> list[tuple[str | None, str]]:
    if not isinstance(detail, dict):
        return [(None, message) for message in _errors(detail)]
    return [(field, message) for field, value in detail.items() for message in _errors(value)]
