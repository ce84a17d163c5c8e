"""Shared by the dataset pages: lookups that apply the project rules of apps.core, and the
translation of the API's error messages onto pages.

Non-members get 404 (they never learn a dataset exists); members whose role is too low get 403.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from apps.core import selectors as core_selectors
from apps.core.models import Project, Role
from apps.core.permissions import has_role
from apps.datasets import selectors
from apps.datasets.models import Dataset, DatasetVersion, VersionStatus

# A version in these states is still being worked on: its pages poll until it leaves them.
ACTIVE_VERSION_STATUSES = (VersionStatus.PENDING, VersionStatus.PROCESSING)


def dataset_for(request: HttpRequest, pk: int, role: str = Role.VIEWER) -> Dataset:
    dataset = get_object_or_404(selectors.dataset_list(user=request.user), pk=pk)
    require_page_role(request, dataset, role)
    return dataset


def version_for(request: HttpRequest, pk: int) -> DatasetVersion:
    return get_object_or_404(
        selectors.dataset_version_list(user=request.user).select_related("job"), pk=pk
    )


def require_page_role(request: HttpRequest, dataset: Dataset, role: str) -> None:
    if not has_role(request.user, dataset.project, role):
        raise PermissionDenied(f"This needs the {role} role in project '{dataset.project.slug}'.")


def can_contribute(request: HttpRequest, dataset: Dataset) -> bool:
    return has_role(request.user, dataset.project, Role.CONTRIBUTOR)


def projects_open_to(request: HttpRequest, role: str) -> QuerySet[Project]:
    """The user's projects where they hold at least `role` (superusers: every project)."""
    projects = core_selectors.project_list(user=request.user)
    if request.user.is_superuser:
        return projects
    roles = [value for value in Role.values if Role.rank(value) >= Role.rank(role)]
    return projects.filter(memberships__user=request.user, memberships__role__in=roles)


def error_messages(detail: Any) -> list[str]:
    """Flatten a DRF error detail ({"field": ["msg"]}, ["msg"] or "msg") into sentences."""
    if isinstance(detail, dict):
        return [msg for value in detail.values() for msg in error_messages(value)]
    if isinstance(detail, list):
        return [msg for value in detail for msg in error_messages(value)]
    return [str(detail)]


def add_api_errors(form: forms.Form, detail: Any) -> None:
    """Put the messages of a service or serializer on the form's fields, as the API words them."""
    if not isinstance(detail, dict):
        detail = {None: detail}
    for field, errors in detail.items():
        form.add_error(field if field in form.fields else None, error_messages(errors))
