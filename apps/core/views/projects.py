"""Project pages: create projects, manage members, check that workers answer on each queue."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from apps.core import selectors
from apps.core.forms import MemberAddForm, MemberRoleForm, ProjectForm
from apps.core.models import Project, Role
from apps.core.permissions import has_role, project_role
from apps.core.services import jobs as job_services
from apps.core.services import projects as project_services


def _project_for(request: HttpRequest, slug: str, role: str = Role.VIEWER) -> Project:
    project = get_object_or_404(selectors.project_list(user=request.user), slug=slug)
    if not has_role(request.user, project, role):
        raise PermissionDenied(f"This needs the {role} role in project '{slug}'.")
    return project


def _flash_errors(request: HttpRequest, exc: ValidationError) -> None:
    detail = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
    for field, errors in detail.items():
        for error in errors if isinstance(errors, list) else [errors]:
            messages.error(request, f"{field}: {error}" if field else str(error))


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = project_services.project_create(creator=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _flash_errors(request, exc)
        else:
            messages.success(request, f"Created project '{project.slug}'; you are its admin.")
            return redirect("project-detail", slug=project.slug)
    memberships = selectors.user_memberships(user=request.user)
    return render(request, "core/projects.html", {"form": form, "memberships": memberships})


@login_required
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    project = _project_for(request, slug)
    role = project_role(request.user, project)
    context = {
        "project": project,
        "my_role": role,
        "is_admin": Role.rank(role) >= Role.rank(Role.ADMIN),
        "can_launch": Role.rank(role) >= Role.rank(Role.CONTRIBUTOR),
        "members": selectors.membership_list(project=project),
        "jobs": selectors.job_list(user=request.user).filter(project=project)[:10],
        "add_form": MemberAddForm(),
        "roles": Role.choices,
    }
    return render(request, "core/project_detail.html", context)


@login_required
@require_POST
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    project = _project_for(request, slug, Role.ADMIN)
    form = MemberAddForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("project-detail", slug=slug)
    try:
        project_services.membership_add(actor=request.user, project=project, **form.cleaned_data)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(request, f"Added {form.cleaned_data['username']}.")
    return redirect("project-detail", slug=slug)


@login_required
@require_POST
def member_change(request: HttpRequest, slug: str, username: str) -> HttpResponse:
    project = _project_for(request, slug, Role.ADMIN)
    membership = selectors.membership_list(project=project).filter(user__username=username).first()
    if membership is None:
        raise Http404(username)
    try:
        if request.POST.get("action") == "remove":
            project_services.membership_remove(actor=request.user, membership=membership)
            messages.success(request, f"Removed {username}.")
        else:
            form = MemberRoleForm(request.POST)
            if not form.is_valid():
                messages.error(request, f"role: {' '.join(form.errors.get('role', []))}")
                return redirect("project-detail", slug=slug)
            project_services.membership_change_role(
                actor=request.user, membership=membership, role=form.cleaned_data["role"]
            )
            messages.success(request, f"{username} is now {form.cleaned_data['role']}.")
    except ValidationError as exc:
        _flash_errors(request, exc)
    return redirect("project-detail", slug=slug)


@login_required
@require_POST
def worker_check(request: HttpRequest, slug: str) -> HttpResponse:
    project = _project_for(request, slug, Role.CONTRIBUTOR)
    queue = request.POST.get("queue")
    if queue not in ("default", "gpu"):
        messages.error(request, "queue: choose default or gpu.")
        return redirect("project-detail", slug=slug)
    job = job_services.job_create(
        project=project, kind=f"core.diagnostic.{queue}", params={}, actor=request.user
    )
    messages.success(request, f"Sent job #{job.pk} to the {queue} queue.")
    return redirect("project-detail", slug=slug)
