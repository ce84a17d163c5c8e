"""Monitoring pages: the overview of monitored deployments, one deployment's drift charts with
its latest Evidently report embedded, the "Run now" button, and the report file itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST, require_safe
from rest_framework.exceptions import APIException

from apps.core import selectors as core_selectors
from apps.core.models import Role
from apps.core.permissions import has_role
from apps.deployments.models import Deployment
from apps.deployments.selectors.deployments import deployment_list
from apps.monitoring.models import Monitor, ReportStatus
from apps.monitoring.selectors import charts

PAGE_SIZE = 50
MAX_REPORTS = 500
# The Evidently report runs its own inline scripts, in an opaque origin (sandbox without
# allow-same-origin), and may fetch nothing: its fonts and images are data: URIs.
REPORT_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:"
)


def _int(value: str | None) -> int | None:
    # isascii: str.isdigit() also accepts digits like "²" that int() refuses.
    ok = value and value.isascii() and value.isdigit() and len(value) < 10
    return int(value) if ok else None


def _deployment(request: HttpRequest, slug: str, role: str = Role.VIEWER) -> Deployment:
    deployment = get_object_or_404(deployment_list(user=request.user), slug=slug)
    if not has_role(request.user, deployment.project, role):
        raise PermissionDenied(
            f"This needs the {role} role in project '{deployment.project.slug}'."
        )
    return deployment


@login_required
@require_safe
def monitoring_index(request: HttpRequest) -> HttpResponse:
    project = request.GET.get("project", "")
    if "\x00" in project:  # PostgreSQL refuses NUL in text: an unknown project, not a 500
        project = ""
    deployments = charts.monitoring_overview(user=request.user, project=project)
    page = Paginator(deployments, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "project": project,
        "projects": core_selectors.project_list(user=request.user),
        "query": query.urlencode(),
    }
    return render(request, "monitoring/index.html", context)


def _monitor_settings(monitor: Monitor, deployment: Deployment) -> dict[str, Any]:
    if monitor.reference_dataset_version_id:
        reference = f"{monitor.reference_dataset_version} (chosen)"
    else:
        served = charts.served_version(deployment=deployment)
        if served is not None and served.dataset_version_id:
            reference = (
                f"training split of {served.dataset_version.dataset.name} "
                f"v{served.dataset_version.version} (what v{served.version} was trained on)"
            )
        else:
            reference = "training split of the served version's dataset version"
    return {"reference": reference}


@login_required
@require_safe
def monitoring_deployment(request: HttpRequest, slug: str) -> HttpResponse:
    deployment = _deployment(request, slug)
    monitors = charts.deployment_monitors(deployment=deployment)
    context: dict[str, Any] = {
        "deployment": deployment,
        "monitors": monitors,
        "can_run": has_role(request.user, deployment.project, Role.CONTRIBUTOR),
    }
    if not monitors:
        return render(request, "monitoring/deployment.html", context)
    wanted = _int(request.GET.get("monitor"))
    monitor = monitors[0] if wanted is None else next((m for m in monitors if m.pk == wanted), None)
    if monitor is None:
        raise Http404("No such monitor on this deployment.")
    limit = min(_int(request.GET.get("n")) or charts.CHART_REPORTS, MAX_REPORTS)
    reports = charts.recent_reports(monitor=monitor, limit=limit)
    latest = charts.latest_finished_report(monitor=monitor)
    context.update(
        {
            "monitor": monitor,
            "monitor_settings": _monitor_settings(monitor, deployment),
            "reports": reports,
            "recent": reports[::-1][: charts.RECENT_RUNS],
            "pending": any(r.status == ReportStatus.PENDING for r in reports),
            "series": charts.chart_series(monitor=monitor, reports=reports),
            "latest": latest,
            "latest_columns": charts.column_rows(latest) if latest else [],
            "limit": limit,
        }
    )
    return render(request, "monitoring/deployment.html", context)


@login_required
@require_POST
def monitoring_run(request: HttpRequest, slug: str) -> HttpResponse:
    """Calls the same service as POST /api/v1/monitors/{id}/run/; a refusal becomes a message."""
    deployment = _deployment(request, slug, Role.CONTRIBUTOR)
    monitor_id = _int(request.POST.get("monitor"))
    monitor = Monitor.objects.filter(deployment=deployment, pk=monitor_id).first()
    if monitor is None:
        raise Http404("No such monitor on this deployment.")
    from apps.monitoring.services.drift import drift_run_request

    try:
        report = drift_run_request(actor=request.user, monitor=monitor, trigger="manual")
        number = getattr(report, "pk", None)
        messages.success(request, f"Drift run {'#' + str(number) + ' ' if number else ''}queued.")
    except APIException as error:
        messages.error(request, _message(error.detail))
    except DjangoValidationError as error:
        messages.error(request, " ".join(error.messages))
    url = reverse("monitoring-deployment", args=[deployment.slug])
    return redirect(f"{url}?monitor={monitor.pk}")


def _message(detail: Any) -> str:
    if isinstance(detail, dict):
        return " ".join(_message(value) for value in detail.values())
    if isinstance(detail, list):
        return " ".join(_message(value) for value in detail)
    return str(detail)


def _report_file(relative: str | None) -> FileResponse:
    if not relative:
        raise Http404("No report file.")
    root = Path(settings.ARTIFACT_ROOT).resolve()
    path = (root / relative).resolve()
    # The path is written by the drift job, but never let a stored path leave the store.
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404("No report file.")
    response = FileResponse(path.open("rb"), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = REPORT_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_safe
@xframe_options_sameorigin
def monitoring_report_html(request: HttpRequest, pk: int) -> FileResponse:
    """The stored Evidently HTML, for the page's sandboxed iframe. The CSP keeps it in an
    opaque origin with no network even when opened directly."""
    report = charts.report_for_user(user=request.user, pk=pk)
    if report is None:
        raise Http404("No report file.")
    return _report_file(report.html_path)


@login_required
@require_safe
@xframe_options_sameorigin
def monitoring_performance_html(request: HttpRequest, pk: int) -> FileResponse:
    """Evidently's model quality report of a run whose window had labels; same guards."""
    report = charts.report_for_user(user=request.user, pk=pk)
    if report is None:
        raise Http404("No report file.")
    return _report_file((report.performance or {}).get("html_path"))
