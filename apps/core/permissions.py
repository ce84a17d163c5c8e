"""Project-scoped access: one place decides who sees and changes what.

Non-members never learn that another project's objects exist (404); members whose role is too
low get 403. Superusers act as admins everywhere.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from rest_framework import exceptions

from apps.core.models import Membership, Project, Role


def project_role(user: AbstractBaseUser | AnonymousUser, project: Project) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN
    cache = getattr(user, "_project_roles", None)
    if cache is None:
        cache = dict(Membership.objects.filter(user=user).values_list("project_id", "role"))
        user._project_roles = cache
    return cache.get(project.pk)


def has_role(user: AbstractBaseUser | AnonymousUser, project: Project, role: str) -> bool:
    return Role.rank(project_role(user, project)) >= Role.rank(role)


def require_role(user: AbstractBaseUser | AnonymousUser, project: Project, role: str) -> None:
    current = project_role(user, project)
    if current is None:
        raise exceptions.NotFound("Not found.")
    if Role.rank(current) < Role.rank(role):
        raise exceptions.PermissionDenied(
            f"This needs the {role} role in project '{project.slug}'; you are {current}."
        )


def visible_projects(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def scope_to_member_projects(
    queryset: QuerySet, user: AbstractBaseUser | AnonymousUser, project_path: str = "project"
) -> QuerySet:
    """Narrow any project-owned queryset to the projects the user belongs to."""
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    member_of = Membership.objects.filter(user=user).values("project_id")
    return queryset.filter(**{f"{project_path}__in": member_of})
