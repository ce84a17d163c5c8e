"""The alerts page: alerts of the user's projects by status (open, acknowledged, resolved, all),
newest first, with an Acknowledge button for contributors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from apps.core import selectors as core_selectors
from apps.core.models import Membership, Role
from apps.core.permissions import has_role
from apps.monitoring.models import AlertStatus
from apps.monitoring.selectors import alerts as selectors
from apps.monitoring.services.alerts import alert_acknowledge

PAGE_SIZE = 50
TABS = [
    (AlertStatus.OPEN, "Open"),
    (AlertStatus.ACKNOWLEDGED, "Acknowledged"),
    (AlertStatus.RESOLVED, "Resolved"),
    ("all", "All"),
]


def _writable_projects(request: HttpRequest) -> set[int] | None:
    """Project ids where the user may acknowledge; None: everywhere (superuser)."""
    if request.user.is_superuser:
        return None
    roles = [Role.CONTRIBUTOR, Role.REVIEWER, Role.ADMIN]
    return set(
        Membership.objects.filter(user=request.user, role__in=roles).values_list(
            "project_id", flat=True
        )
    )


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("status", AlertStatus.OPEN)
    if tab not in dict(TABS):
        tab = AlertStatus.OPEN
    alerts = selectors.alert_list(user=request.user)
    if tab != "all":
        alerts = alerts.filter(status=tab)
    project = request.GET.get("project", "")
    if project and "\x00" not in project:
        alerts = alerts.filter(project__slug=project)
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    writable = _writable_projects(request)
    for alert in page.object_list:
        alert.can_acknowledge = alert.status == AlertStatus.OPEN and (
            writable is None or alert.project_id in writable
        )
    counts = selectors.alert_status_counts(user=request.user)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "tab": tab,
        "tabs": [(key, label, counts[key]) for key, label in TABS],
        "project": project,
        "projects": core_selectors.project_list(user=request.user),
        "query": query.urlencode(),
    }
    return render(request, "monitoring/alerts.html", context)


@login_required
@require_POST
def alert_acknowledge_view(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(selectors.alert_list(user=request.user), pk=pk)
    if not has_role(request.user, alert.project, Role.CONTRIBUTOR):
        raise PermissionDenied(f"This needs the contributor role in '{alert.project.slug}'.")
    try:
        alert_acknowledge(actor=request.user, alert=alert)
        messages.success(request, f"Acknowledged alert #{alert.pk}.")
    except APIException as error:
        messages.error(request, str(error.detail))
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("alerts")
