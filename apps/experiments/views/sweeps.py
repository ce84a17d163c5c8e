"""Sweep pages: the list, the form that starts one, and a sweep's page with its progress, a
chart of the metric per trial and the leaderboard.

While a sweep runs, its live part polls `sweep_live` every 3 s (htmx); the answer that finds it
ended has no polling attribute, which ends the polling (as on a training job's page).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException, ValidationError

from apps.core import selectors as core_selectors
from apps.core.models import Role
from apps.core.permissions import has_role
from apps.datasets.selectors import dataset_version_list
from apps.datasets.views.common import error_messages, projects_open_to
from apps.experiments import selectors, services
from apps.experiments.models import Sweep, SweepStatus
from apps.experiments.sweep_forms import SweepForm
from apps.experiments.views.common import short


def _sweep_for(request: HttpRequest, pk: int, role: str = Role.VIEWER) -> Sweep:
    sweep = get_object_or_404(selectors.sweep_list(user=request.user), pk=pk)
    if not has_role(request.user, sweep.project, role):
        raise PermissionDenied(f"This needs the {role} role in project '{sweep.project.slug}'.")
    return sweep


@login_required
def sweep_list(request: HttpRequest) -> HttpResponse:
    sweeps = selectors.sweep_list(user=request.user)
    project, status = request.GET.get("project", ""), request.GET.get("status", "")
    if project and "\x00" not in project:
        sweeps = sweeps.filter(project__slug=project)
    if status in SweepStatus.values:
        sweeps = sweeps.filter(status=status)
    page = Paginator(sweeps, 50).get_page(request.GET.get("page"))
    rows = []
    for sweep in page.object_list:
        progress = selectors.sweep_progress(sweep)
        ended = progress["succeeded"] + progress["failed"] + progress["cancelled"]
        rows.append({"sweep": sweep, "progress": progress, "ended": ended})
    context = {
        "page": page,
        "rows": rows,
        "project": project,
        "status": status,
        "projects": core_selectors.project_list(user=request.user),
        "statuses": SweepStatus.choices,
        "can_launch": projects_open_to(request, Role.CONTRIBUTOR).exists(),
    }
    return render(request, "experiments/sweep_list.html", context)


@login_required
def sweep_new(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    if posted:
        _refuse_members_below_contributor(request)
    initial = {k: request.GET[k] for k in ("project", "experiment") if request.GET.get(k)}
    form = SweepForm(
        request.POST if posted else None,
        projects=projects_open_to(request, Role.CONTRIBUTOR),
        versions=dataset_version_list(user=request.user),
        initial=initial,
    )
    if posted and form.is_valid():
        try:
            sweep = services.sweep_create(actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc.detail)
        else:
            messages.success(request, f"Sweep #{sweep.pk} started with {len(sweep.plan)} trials.")
            return redirect("sweep", pk=sweep.pk)
    has_projects = form.fields["project"].queryset.exists()
    return render(
        request, "experiments/sweep_new.html", {"form": form, "has_projects": has_projects}
    )


def _refuse_members_below_contributor(request: HttpRequest) -> None:
    """A viewer naming their own project gets 403, as the API answers; other projects are
    simply not a choice (nothing is revealed)."""
    slug = request.POST.get("project", "")
    if not slug or "\x00" in slug:
        return
    project = core_selectors.project_list(user=request.user).filter(slug=slug).first()
    if project is not None and not has_role(request.user, project, Role.CONTRIBUTOR):
        raise PermissionDenied(f"Starting sweeps needs the contributor role in '{slug}'.")


@login_required
def sweep_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sweep = _sweep_for(request, pk)
    context = _live_context(request, sweep)
    context["base_json"] = json.dumps(sweep.base_params or {}, indent=2)
    context["space_json"] = json.dumps(sweep.space, indent=2)
    return render(request, "experiments/sweep_detail.html", context)


@login_required
def sweep_live(request: HttpRequest, pk: int) -> HttpResponse:
    sweep = _sweep_for(request, pk)
    return render(request, "experiments/partials/sweep_live.html", _live_context(request, sweep))


def _live_context(request: HttpRequest, sweep: Sweep) -> dict[str, Any]:
    rows = selectors.sweep_leaderboard_rows(sweep=sweep)
    for row in rows:
        row["value_text"] = "—" if row["metric_value"] is None else short(row["metric_value"])
        row["params_text"] = ", ".join(f"{k}={short(v)}" for k, v in row["params"].items())
    progress = selectors.sweep_progress(sweep)
    ended = progress["succeeded"] + progress["failed"] + progress["cancelled"]
    running = sweep.status == SweepStatus.RUNNING
    return {
        "sweep": sweep,
        "rows": rows,
        "best": rows[0] if rows and rows[0]["rank"] == 1 else None,
        "progress": progress,
        "ended": ended,
        "percent": round(100 * ended / progress["planned"]) if progress["planned"] else 0,
        "poll": running,
        "can_cancel": running and has_role(request.user, sweep.project, Role.CONTRIBUTOR),
        # Read by static/js/sweeps.js (json_script: every string stays data, never markup).
        "chart": {
            "metric": sweep.metric,
            "direction": sweep.direction,
            "points": [
                {
                    "trial": row["trial"],
                    "value": row["metric_value"],
                    "status": row["status"],
                    "params": row["params_text"],
                    "rank": row["rank"],
                }
                for row in rows
                if row["metric_value"] is not None
            ],
        },
    }


@login_required
@require_POST
def sweep_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    sweep = _sweep_for(request, pk, Role.CONTRIBUTOR)
    try:
        services.sweep_cancel(actor=request.user, sweep=sweep)
    except APIException as exc:  # it ended meanwhile: say so, show the page as it is now
        messages.error(request, " ".join(error_messages(exc.detail)))
    else:
        messages.success(request, f"Cancelled sweep #{sweep.pk} and its active trials.")
    return redirect("sweep", pk=sweep.pk)
