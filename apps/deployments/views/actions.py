"""The page's buttons: rollback, canary percent / promote / abort, token rotation. Each calls
the same service as the API; a refusal comes back as a message on the page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from apps.core.models import Role
from apps.deployments.services import actions
from apps.deployments.services.tokens import deployment_token_rotate
from apps.deployments.views.pages import deployment_for_page, detail_context


def _message(error: APIException) -> str:
    detail = error.detail
    if isinstance(detail, dict):
        return " ".join(str(m) for messages_ in detail.values() for m in _listed(messages_))
    return " ".join(str(m) for m in _listed(detail))


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@login_required
@require_POST
def deployment_rollback_view(request: HttpRequest, slug: str) -> HttpResponse:
    deployment = deployment_for_page(request, slug, Role.CONTRIBUTOR)
    try:
        revision = actions.deployment_rollback(
            actor=request.user, deployment=deployment, to=_int(request.POST.get("revision")),
            reason=request.POST.get("reason", "")[:2000],
        )  # fmt: skip
        messages.success(request, f"Rolled back: revision {revision.number} is live.")
    except APIException as error:
        messages.error(request, _message(error))
    return redirect("deployment", slug=deployment.slug)


@login_required
@require_POST
def deployment_canary_view(request: HttpRequest, slug: str) -> HttpResponse:
    deployment = deployment_for_page(request, slug, Role.CONTRIBUTOR)
    action = request.POST.get("action", "")
    try:
        if action == "promote":
            revision = actions.canary_promote(actor=request.user, deployment=deployment)
        elif action == "abort":
            revision = actions.canary_abort(actor=request.user, deployment=deployment)
        else:
            percent = _int(request.POST.get("percent"))
            if percent is None:
                messages.error(request, "Give a canary percentage from 1 to 99.")
                return redirect("deployment", slug=deployment.slug)
            revision = actions.canary_set_percent(
                actor=request.user, deployment=deployment, percent=percent
            )
        messages.success(request, f"Revision {revision.number} is live ({revision.strategy}).")
    except APIException as error:
        messages.error(request, _message(error))
    return redirect("deployment", slug=deployment.slug)


@login_required
@require_POST
def deployment_token_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Answers the page itself (not a redirect): the token is shown once and never stored,
    not even in the session's messages."""
    deployment = deployment_for_page(request, slug, Role.CONTRIBUTOR)
    token = deployment_token_rotate(actor=request.user, deployment=deployment)
    context = detail_context(request, deployment, token=token)
    response = render(request, "deployments/deployment_detail.html", context)
    response["Cache-Control"] = "no-store"
    return response
