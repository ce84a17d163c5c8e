"""Closing or amending a pending promotion request without a review: the requester or an admin
cancels it, an admin overrides failing gates with a written reason, the beat task expires it."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError

from apps.core.models import Role
from apps.core.permissions import has_role, require_role
from apps.core.services.audit import audit_record
from apps.registry.models import PromotionRequest, RequestStatus
from apps.registry.services.promotions import _closed_error, _expire, _locked


def promotion_cancel(*, actor: AbstractBaseUser, request: PromotionRequest) -> PromotionRequest:
    project = request.model_version.registered_model.project
    require_role(actor, project, Role.VIEWER)
    if request.requested_by_id != actor.pk and not has_role(actor, project, Role.ADMIN):
        raise PermissionDenied("Only the requester or a project admin may cancel a request.")
    refusal: APIException | None = None
    with transaction.atomic():
        request = _locked(request)
        refusal = _closed_error(request)
        if refusal is None:
            request.status = RequestStatus.CANCELLED
            request.decided_at = timezone.now()
            request.save(update_fields=["status", "decided_at"])
            audit_record(
                actor=actor, action="promotion.cancel", obj=request, project=project,
                changes={"status": {"from": RequestStatus.PENDING, "to": request.status}},
            )  # fmt: skip
    if refusal is not None:
        raise refusal
    return request


def promotion_override(
    *, actor: AbstractBaseUser, request: PromotionRequest, reason: str
) -> PromotionRequest:
    project = request.model_version.registered_model.project
    require_role(actor, project, Role.ADMIN)
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Write why the failing gates may be overridden."]})
    refusal: APIException | None = None
    with transaction.atomic():
        request = _locked(request)
        refusal = _closed_error(request)
        if refusal is None:
            request.override_reason = reason.strip()
            request.override_by = actor
            request.override_at = timezone.now()
            request.save(update_fields=["override_reason", "override_by", "override_at"])
            audit_record(
                actor=actor, action="promotion.override", obj=request, project=project,
                changes={"reason": request.override_reason,
                         "failing": [g["name"] for g in request.gates if not g["passed"]]},
            )  # fmt: skip
    if refusal is not None:
        raise refusal
    return request


def promotions_expire(*, now: datetime | None = None) -> list[int]:
    """Expire pending requests past their expiry; each requester is told."""
    now = now or timezone.now()
    expired = []
    with transaction.atomic():
        due = (
            PromotionRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("model_version__registered_model__project", "requested_by")
            .filter(status=RequestStatus.PENDING, expires_at__lte=now)
        )
        for request in due:
            _expire(request)
            expired.append(request.pk)
    return expired
