from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.core import selectors
from apps.core.api.filters import AuditEventFilter


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    filterset = AuditEventFilter(
        request.GET, queryset=selectors.audit_event_list(user=request.user)
    )
    events = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filterset": filterset,
        "page": page,
        "query": query.urlencode(),
        "projects": selectors.user_memberships(user=request.user),
    }
    template = (
        "core/partials/audit_table.html" if request.headers.get("HX-Request") else "core/audit.html"
    )
    return render(request, template, context)
