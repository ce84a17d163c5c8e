"""What promotion notifications say and carry (inbox titles, webhook payloads, recipients)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse

from apps.core.models import Membership, Role
from apps.registry.models import PromotionRequest


def request_url(request: PromotionRequest) -> str:
    return reverse("promotion", args=[request.pk])


def request_payload(request: PromotionRequest) -> dict[str, Any]:
    """What notifications and webhooks carry: JSON-ready, ids and names only."""
    version = request.model_version
    return {
        "id": request.pk,
        "model": version.registered_model.name,
        "model_version": version.pk,
        "version": version.version,
        "target": request.target,
        "status": request.status,
        "requested_by": request.requested_by.get_username() if request.requested_by else None,
        "approvals_required": request.approvals_required,
        "gates_passed": request.gates_passed,
        "override": bool(request.override_reason),
        "url": request_url(request),
    }


def _title(request: PromotionRequest, what: str) -> str:
    version = request.model_version
    return f"{version.registered_model.name} v{version.version} → {request.target}: {what}"


def _reviewers(project_id: int, *, exclude: Any = None) -> list[AbstractBaseUser]:
    members = (
        Membership.objects.filter(project_id=project_id, role__in=[Role.REVIEWER, Role.ADMIN])
        .select_related("user")
        .order_by("user__username")
    )
    return [m.user for m in members if exclude is None or m.user_id != exclude.pk]
