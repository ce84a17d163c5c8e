"""Deployment pages: the list, and one deployment (current routing, revision timeline with
rollback, canary controls, serving token, curl example, live traffic charts)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from apps.core import selectors as core_selectors
from apps.core.models import Role
from apps.core.permissions import has_role
from apps.deployments.models import Deployment, Strategy
from apps.deployments.selectors.deployments import (
    deployment_list,
    revision_list,
    signature_columns,
)
from apps.deployments.selectors.traffic import deployment_traffic

PAGE_SIZE = 50
TIMELINE_SIZE = 50
EXAMPLE_VALUES = {"string": "a", "boolean": True, "long": 0, "integer": 0}


def deployment_for_page(request: HttpRequest, slug: str, role: str = Role.VIEWER) -> Deployment:
    deployment = get_object_or_404(deployment_list(user=request.user), slug=slug)
    if not has_role(request.user, deployment.project, role):
        raise PermissionDenied(
            f"This needs the {role} role in project '{deployment.project.slug}'."
        )
    return deployment


@login_required
def deployment_index(request: HttpRequest) -> HttpResponse:
    deployments = deployment_list(user=request.user)
    project = request.GET.get("project", "")
    if project:
        deployments = deployments.filter(project__slug=project)
    model = request.GET.get("model", "")
    if model.isdigit() and len(model) < 10:
        deployments = deployments.filter(registered_model_id=int(model))
    page = Paginator(deployments, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "project": project,
        "projects": core_selectors.project_list(user=request.user),
        "query": query.urlencode(),
    }
    return render(request, "deployments/deployment_list.html", context)


def curl_example(request: HttpRequest, deployment: Deployment) -> str:
    row = {
        c["name"]: EXAMPLE_VALUES.get(str(c.get("type", "")), 0.0)
        for c in signature_columns(deployment)
    }
    body = json.dumps({"instances": [row or {"feature": 0.0}]})
    url = request.build_absolute_uri(f"/serve/{deployment.slug}/predict")
    return (
        f"curl -X POST {url} \\\n"
        '  -H "Authorization: Bearer $TOKEN" \\\n'
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'"
    )


def detail_context(request: HttpRequest, deployment: Deployment, token: str = "") -> dict[str, Any]:
    current = deployment.current_revision
    split = []
    if current is not None:
        if current.strategy == Strategy.CANARY:
            split = [(current.stable, 100 - current.canary_percent, "stable"),
                     (current.candidate, current.canary_percent, "candidate")]  # fmt: skip
        elif current.strategy == Strategy.BLUE_GREEN:
            split = [(current.candidate, 100, "green (serving)"), (current.stable, 0, "blue")]
        elif current.strategy == Strategy.SHADOW:
            split = [(current.stable, 100, "stable (answers)"),
                     (current.candidate, 0, "shadow (copy of every request)")]  # fmt: skip
        else:
            split = [(current.stable, 100, "stable")]
    can_write = has_role(request.user, deployment.project, Role.CONTRIBUTOR)
    return {
        "deployment": deployment,
        "current": current,
        "split": split,
        "is_candidate_strategy": current is not None and current.candidate_id is not None,
        "revisions": list(revision_list(deployment=deployment)[:TIMELINE_SIZE]),
        "can_write": can_write,
        "token": token,
        "curl": curl_example(request, deployment),
        "traffic": deployment_traffic(deployment=deployment),
    }


@login_required
def deployment_detail(request: HttpRequest, slug: str) -> HttpResponse:
    deployment = deployment_for_page(request, slug)
    return render(
        request, "deployments/deployment_detail.html", detail_context(request, deployment)
    )


@login_required
def deployment_traffic_json(request: HttpRequest, slug: str) -> JsonResponse:
    """What the charts poll every few seconds."""
    deployment = deployment_for_page(request, slug)
    return JsonResponse(deployment_traffic(deployment=deployment))
