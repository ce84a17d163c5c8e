from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from apps.core import context
from apps.core.models import AuditEvent, Project


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    project: Project | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event. Call it inside the transaction that makes the change."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    ctx = context.current()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_username=actor.get_username() if is_user else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        project=project,
        changes=changes or {},
        request_id=ctx.request_id,
        ip_address=ctx.ip_address,
    )
