"""POST endpoints of a promotion request's page: approve, reject, cancel, override.

Each calls the same service as the API; a refusal (403, 409, 400) comes back as a message on
the request's page, never as an error page.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from apps.registry.models import PromotionRequest
from apps.registry.selectors.promotions import promotion_list
from apps.registry.services import promotions as services
from apps.registry.views.promotions import error_text

TEXT_LIMIT = 5000


def _act(
    request: HttpRequest, pk: int, run: Callable[[PromotionRequest, str], PromotionRequest],
    done: str, field: str = "comment",
) -> HttpResponse:  # fmt: skip
    row = get_object_or_404(promotion_list(user=request.user), pk=pk)
    text = (request.POST.get(field) or "").strip()
    if len(text) > TEXT_LIMIT:
        messages.error(request, f"The {field} is too long (at most {TEXT_LIMIT} characters).")
        return redirect("promotion", pk)
    try:
        row = run(row, text)
    except APIException as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, done.format(status=row.status))
    return redirect("promotion", pk)


@login_required
@require_POST
def promotion_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk,
        lambda row, text: services.promotion_approve(actor=request.user, request=row, comment=text),
        "Approval recorded; the request is {status}.",
    )  # fmt: skip


@login_required
@require_POST
def promotion_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk,
        lambda row, text: services.promotion_reject(actor=request.user, request=row, comment=text),
        "Request rejected.",
    )  # fmt: skip


@login_required
@require_POST
def promotion_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk,
        lambda row, text: services.promotion_cancel(actor=request.user, request=row),
        "Request cancelled.",
    )  # fmt: skip


@login_required
@require_POST
def promotion_override(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk,
        lambda row, text: services.promotion_override(actor=request.user, request=row, reason=text),
        "Override recorded: an approval may now go through despite the failing gates.",
        field="reason",
    )  # fmt: skip
