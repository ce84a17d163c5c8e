from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from apps.core.models import Membership, Project, Role
from apps.core.services.audit import audit_record

User = get_user_model()


def _audit_membership(
    *, actor: AbstractBaseUser, action: str, project: Project, username: str, changes: dict
) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="core.membership",
        object_id=f"{project.slug}:{username}",
        project=project,
        changes={"username": username, **changes},
    )


@transaction.atomic
def project_create(
    *, creator: AbstractBaseUser, slug: str, name: str, description: str = ""
) -> Project:
    """Create a project; its creator becomes its first admin."""
    taken = ValidationError({"slug": [f"A project with slug '{slug}' already exists."]})
    if Project.objects.filter(slug=slug).exists():
        raise taken
    try:
        # A concurrent create of the same slug loses here, not with a 500.
        with transaction.atomic():
            project = Project.objects.create(
                slug=slug, name=name, description=description, created_by=creator
            )
    except IntegrityError as exc:
        raise taken from exc
    Membership.objects.create(project=project, user=creator, role=Role.ADMIN)
    audit_record(
        actor=creator,
        action="project.create",
        obj=project,
        project=project,
        changes={"slug": slug, "name": name, "description": description},
    )
    _audit_membership(
        actor=creator,
        action="membership.add",
        project=project,
        username=creator.get_username(),
        changes={"role": Role.ADMIN},
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
    _audit_membership(
        actor=actor,
        action="membership.add",
        project=project,
        username=username,
        changes={"role": role},
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
    _audit_membership(
        actor=actor,
        action="membership.change_role",
        project=membership.project,
        username=membership.user.get_username(),
        changes={"role": {"from": old, "to": role}},
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
    _audit_membership(
        actor=actor,
        action="membership.remove",
        project=project,
        username=username,
        changes={"role": role},
    )
