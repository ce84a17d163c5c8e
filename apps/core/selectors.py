"""Reads. Querysets here are already scoped to what the user may see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from apps.core.models import AuditEvent, Job, Membership, Project
from apps.core.permissions import scope_to_member_projects, visible_projects


def project_list(*, user: AbstractBaseUser) -> QuerySet[Project]:
    return visible_projects(user).order_by("slug")


def membership_list(*, project: Project) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(project=project)
        .select_related("user", "project")
        .order_by("user__username")
    )


def user_memberships(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("project", "user")
        .order_by("project__slug")
    )


def audit_event_list(*, user: AbstractBaseUser) -> QuerySet[AuditEvent]:
    """Events of the user's projects, plus project-less events about the user's own account."""
    qs = AuditEvent.objects.select_related("project")
    if user.is_superuser:
        return qs
    in_projects = Q(project__in=Membership.objects.filter(user=user).values("project_id"))
    return qs.filter(in_projects | Q(project__isnull=True, actor=user))


def job_list(*, user: AbstractBaseUser) -> QuerySet[Job]:
    return scope_to_member_projects(Job.objects.select_related("project", "created_by"), user)
