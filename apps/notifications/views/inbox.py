"""The inbox page: the user's items newest first, unread ones bold; opening one marks it read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.notifications import selectors, services

PAGE_SIZE = 30


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    items = selectors.inbox_list(user=request.user, unread=unread_only)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "items": page.object_list,
        "unread_only": unread_only,
        "query": "unread=1" if unread_only else "",
    }
    return render(request, "notifications/inbox.html", context)


@login_required
def inbox_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow an item's link, marking it read on the way."""
    item = get_object_or_404(selectors.inbox_list(user=request.user), pk=pk)
    services.inbox_mark_read(user=request.user, item=item)
    # Items carry portal paths; anything pointing elsewhere is not followed blindly.
    safe = url_has_allowed_host_and_scheme(
        item.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(item.url if item.url and safe else "inbox")


@login_required
@require_POST
def inbox_read(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(selectors.inbox_list(user=request.user), pk=pk)
    services.inbox_mark_read(user=request.user, item=item)
    return redirect(_back(request))


@login_required
@require_POST
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    marked = services.inbox_mark_all_read(user=request.user)
    messages.success(request, f"Marked {marked} item{'s' if marked != 1 else ''} read.")
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "inbox"
