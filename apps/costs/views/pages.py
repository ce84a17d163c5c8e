"""The cost page: a month's spend by project, kind and model (Plotly), spend against budget,
cost per 1,000 predictions per deployment, the most expensive jobs, and the budget form for
project admins (the same services as the API; a refusal comes back as a message)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from rest_framework.exceptions import APIException

from apps.core import selectors as core_selectors
from apps.core.models import Role
from apps.core.permissions import has_role
from apps.costs.api.serializers import BudgetWriteSerializer
from apps.costs.periods import current_month, parse_month
from apps.costs.selectors import budget_list, cost_breakdown
from apps.costs.services import budget_create, budget_update


def _message(error: APIException) -> str:
    detail = error.detail
    if isinstance(detail, dict):
        return " ".join(str(m) for value in detail.values() for m in _listed(value))
    return " ".join(str(m) for m in _listed(detail))


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


@login_required
@require_safe
def cost_index(request: HttpRequest) -> HttpResponse:
    try:
        month = parse_month(request.GET.get("month", ""))
    except ValueError as exc:
        messages.error(request, f"Month: {exc} Showing this month.")
        month = current_month()
    projects = list(core_selectors.project_list(user=request.user))
    slug = request.GET.get("project", "")
    if slug not in {p.slug for p in projects}:
        slug = ""  # unknown or not yours: all your projects, as other pages' filters do
    report = cost_breakdown(user=request.user, month=month, project=slug or None)
    budgets = {b.project_id: b for b in budget_list(user=request.user)}
    editable = [
        {"project": p, "budget": budgets.get(p.pk)}
        for p in projects
        if has_role(request.user, p, Role.ADMIN) and (not slug or p.slug == slug)
    ]
    context = {
        "report": report,
        "month": month.strftime("%Y-%m"),
        "project": slug,
        "projects": projects,
        "editable": editable,
        "chart": {
            "by_project": report["by_project"],
            "by_kind": report["by_kind"],
            "by_model": report["by_model"][:20],
            "currency": report["currency"],
        },
    }
    return render(request, "costs/index.html", context)


@login_required
@require_POST
def budget_set_view(request: HttpRequest) -> HttpResponse:
    projects = core_selectors.project_list(user=request.user)
    project = projects.filter(slug=request.POST.get("project", "").replace("\x00", "")).first()
    back = reverse("costs")
    if project is None:
        messages.error(request, "Project not found.")
        return redirect(back)
    back = f"{back}?project={project.slug}"
    form = BudgetWriteSerializer(data={k: request.POST.get(k, "") for k in ("amount", "currency")})
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in form.errors.items())
        messages.error(request, errors)
        return redirect(back)
    fields = dict(form.validated_data)
    try:
        existing = budget_list(user=request.user).filter(project=project).first()
        if existing is None:
            budget_create(actor=request.user, project=project, **fields)
        else:
            budget_update(actor=request.user, budget=existing, **fields)
        messages.success(request, f"Budget of {project.name} saved.")
    except APIException as error:
        messages.error(request, _message(error))
    return redirect(back)
