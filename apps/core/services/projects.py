from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.exceptions import ValidationError

from apps.core.models import Membership, Project, Role
from apps.core.services.audit import audit_record

User = get_user_model()


@transaction.atomic
def project_create(
    *, creator: AbstractBaseUser, slug: str, name: str, description: str = ""
) -> Project:
    """Create a project; its creator becomes its first admin."""
    if Project.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [f"A project with slug '{slug}' already exists."]})
    project = Project.objects.create(
        slug=slug, name=name, description=description, created_by=creator
    )
    Membership.objects.create(project=project, user=creator, role=Role.ADMIN)
    audit_record(
        actor=creator,
        action="project.create",
        obj=project,
        project=project,
        changes={"slug": slug, "name": name, "description": description},
    )
    audit_record(
        actor=creator,
        action="membership.add",
        object_type="core.membership",
        object_id=f"{project.slug}:{creator.get_username()}",
        project=project,
        changes={"username": creator.get_username(), "role": Role.ADMIN},
    )
    return project


@transaction.atomic
def project_update(*, actor: AbstractBaseUser, project: Project, **fields: str) -> Project:
    project = Project.objects.select_for_update().get(pk=project.pk)
    changes = {}
    for field in ("name", "description"):
        if field in fields and fields[field] != getattr(project, field):
            changes[field] = {"from": getattr(project, field), "to": fields[field]}
            setattr(project, field, fields[field])
    if changes:
        project.save(update_fields=list(changes))
        audit_record(
            actor=actor, action="project.update", obj=project, project=project, changes=changes
        )
    return project


def _admin_count(project: Project) -> int:
    return Membership.objects.filter(project=project, role=Role.ADMIN).count()


@transaction.atomic
def membership_add(
    *, actor: AbstractBaseUser, project: Project, username: str, role: str
) -> Membership:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError({"username": [f"No active user named '{username}'."]})
    # Lock the project row: member changes of one project are serialised.
    Project.objects.select_for_update().get(pk=project.pk)
    if Membership.objects.filter(project=project, user=user).exists():
        raise ValidationError({"username": [f"'{username}' is already a member; change the role."]})
    membership = Membership.objects.create(project=project, user=user, role=role)
    audit_record(
        actor=actor,
        action="membership.add",
        object_type="core.membership",
        object_id=f"{project.slug}:{username}",
        project=project,
        changes={"username": username, "role": role},
    )
    return membership


@transaction.atomic
def membership_change_role(
    *, actor: AbstractBaseUser, membership: Membership, role: str
) -> Membership:
    Project.objects.select_for_update().get(pk=membership.project_id)
    membership = Membership.objects.select_related("project", "user").get(pk=membership.pk)
    old = membership.role
    if old == role:
        return membership
    if old == Role.ADMIN and _admin_count(membership.project) == 1:
        raise ValidationError({"role": ["A project must keep at least one admin."]})
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor,
        action="membership.change_role",
        object_type="core.membership",
        object_id=f"{membership.project.slug}:{membership.user.get_username()}",
        project=membership.project,
        changes={"username": membership.user.get_username(), "role": {"from": old, "to": role}},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: AbstractBaseUser, membership: Membership) -> None:
    Project.objects.select_for_update().get(pk=membership.project_id)
    membership = Membership.objects.select_related("project", "user").get(pk=membership.pk)
    if membership.role == Role.ADMIN and _admin_count(membership.project) == 1:
        raise ValidationError({"username": ["A project must keep at least one admin."]})
    project, username, role = membership.project, membership.user.get_username(), membership.role
    membership.delete()
    audit_record(
        actor=actor,
        action="membership.remove",
        object_type="core.membership",
        object_id=f"{project.slug}:{username}",
        project=project,
        changes={"username": username, "role": role},
    )
