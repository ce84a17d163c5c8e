"""Serving tokens: one per deployment, separate from user API tokens. Only a sha256 hash and a
4-character hint are stored; the token is returned once, by the rotation that made it."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from apps.core.models import Role
from apps.core.permissions import require_role
from apps.core.services.audit import audit_record
from apps.deployments.models import Deployment

PREFIX = "srv_"


def serving_token_hash(token: str) -> str:
    """The stored form; the data plane compares `serving_token_hash(presented)` to it."""
    return hashlib.sha256(token.encode()).hexdigest()


def deployment_token_rotate(*, actor: AbstractBaseUser, deployment: Deployment) -> str:
    require_role(actor, deployment.project, Role.CONTRIBUTOR)
    token = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
        replaced = bool(locked.token_hash)
        locked.token_hash = serving_token_hash(token)
        locked.token_hint = token[-4:]
        locked.token_rotated_at = timezone.now()
        locked.save(update_fields=["token_hash", "token_hint", "token_rotated_at"])
        audit_record(
            actor=actor, action="deployment.token_rotate", obj=locked, project=locked.project,
            changes={"hint": locked.token_hint, "replaced": replaced},
        )  # fmt: skip
    deployment.token_hash, deployment.token_hint = locked.token_hash, locked.token_hint
    deployment.token_rotated_at = locked.token_rotated_at
    return token
