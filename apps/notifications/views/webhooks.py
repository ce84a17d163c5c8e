"""A project's webhooks page (list; admins create, test and delete) and one webhook's page with
its deliveries and every attempt.

Non-members get 404; members see webhooks without their secrets; only admins change them.
A new webhook's secret is shown once, on the page that answers the creating POST (never in a
flash message: those may travel in a cookie).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from apps.core import selectors as core_selectors
from apps.core.models import Project, Role
from apps.core.permissions import has_role
from apps.notifications import selectors, webhooks
from apps.notifications.forms import WebhookEditForm, WebhookForm
from apps.notifications.models import Webhook

DELIVERIES_PER_PAGE = 20


def _project_for(request: HttpRequest, slug: str, role: str = Role.VIEWER) -> Project:
    project = get_object_or_404(core_selectors.project_list(user=request.user), slug=slug)
    if not has_role(request.user, project, role):
        raise PermissionDenied(f"This needs the {role} role in project '{slug}'.")
    return project


def _webhook_for(request: HttpRequest, slug: str, pk: int, role: str = Role.VIEWER) -> Webhook:
    project = _project_for(request, slug, role)
    return get_object_or_404(selectors.webhook_list(user=request.user), project=project, pk=pk)


def _add_service_errors(form: WebhookForm, exc: ValidationError) -> None:
    detail = exc.detail if isinstance(exc.detail, dict) else {None: exc.detail}
    for field, errors in detail.items():
        for error in errors if isinstance(errors, list) else [errors]:
            form.add_error(field if field in form.fields else None, str(error))


@login_required
def webhook_list(request: HttpRequest, slug: str) -> HttpResponse:
    posted = request.method == "POST"
    project = _project_for(request, slug, Role.ADMIN if posted else Role.VIEWER)
    is_admin = has_role(request.user, project, Role.ADMIN)
    form = WebhookForm(request.POST if posted else None) if is_admin else None
    if posted and form.is_valid():
        try:
            webhook = webhooks.webhook_create(
                actor=request.user, project=project, **form.service_kwargs()
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            return _detail(request, webhook.pk, project, new_secret=webhook.secret)
    context = {
        "project": project,
        "webhooks": selectors.webhook_list(user=request.user).filter(project=project),
        "form": form,
        "is_admin": is_admin,
    }
    return render(request, "notifications/webhooks.html", context, status=400 if posted else 200)


@login_required
def webhook_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = _project_for(request, slug)
    return _detail(request, pk, project)


def _detail(
    request: HttpRequest,
    pk: int,
    project: Project,
    *,
    new_secret: str = "",
    edit_form: WebhookEditForm | None = None,
) -> HttpResponse:
    webhook = get_object_or_404(selectors.webhook_list(user=request.user), project=project, pk=pk)
    is_admin = has_role(request.user, project, Role.ADMIN)
    deliveries = selectors.delivery_list(user=request.user).filter(webhook=webhook)
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    if is_admin and edit_form is None:
        edit_form = WebhookEditForm(
            initial={"url": webhook.url, "events": webhook.events, "active": webhook.active}
        )
    context = {
        "project": project,
        "webhook": webhook,
        "page": page,
        "deliveries": page.object_list,
        "is_admin": is_admin,
        "edit_form": edit_form if is_admin else None,
        "new_secret": new_secret,
        "query": "",
    }
    status = 400 if edit_form is not None and edit_form.errors else 200
    return render(request, "notifications/webhook_detail.html", context, status=status)


@login_required
@require_POST
def webhook_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    webhook = _webhook_for(request, slug, pk, Role.ADMIN)
    form = WebhookEditForm(request.POST)
    if form.is_valid():
        try:
            webhooks.webhook_update(actor=request.user, webhook=webhook, **form.service_kwargs())
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, "Saved the webhook.")
            return redirect("webhook", slug=slug, pk=pk)
    return _detail(request, pk, webhook.project, edit_form=form)


@login_required
@require_POST
def webhook_test(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    webhook = _webhook_for(request, slug, pk, Role.ADMIN)
    delivery = webhooks.webhook_send_test(actor=request.user, webhook=webhook)
    messages.success(request, f"Sent a test event (delivery #{delivery.pk}).")
    return redirect("webhook", slug=slug, pk=pk)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    webhook = _webhook_for(request, slug, pk, Role.ADMIN)
    webhooks.webhook_delete(actor=request.user, webhook=webhook)
    messages.success(request, f"Deleted the webhook to {webhook.url}.")
    return redirect("webhooks", slug=slug)
