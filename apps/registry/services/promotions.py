"""Promotion requests: create, review (approve, reject), cancel, override, expire.

Every transition locks the request row (`select_for_update` inside `transaction.atomic`), so
two approvals arriving together are applied one after the other and exactly one of them can be
the final one that moves the version's stage.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError

from apps.core.models import Role
from apps.core.permissions import require_role
from apps.core.services.audit import audit_record
from apps.notifications.services import notify
from apps.registry.models import (
    Decision,
    ModelVersion,
    PromotionRequest,
    RequestStatus,
    Review,
)
from apps.registry.selectors.policies import policy_for
from apps.registry.services.gates import gates_run
from apps.registry.services.promotion_messages import (
    _reviewers,
    _title,
    request_payload,
    request_url,
)
from apps.registry.services.promotion_stages import TARGETS, _promote

log = logging.getLogger(__name__)


class Conflict(APIException):
    status_code = 409
    default_detail = "This conflicts with the request's current state."
    default_code = "conflict"


def _gates_store(request: PromotionRequest) -> None:
    gates, champion = gates_run(request.model_version, request.target)
    request.gates = gates
    request.gates_passed = all(g["passed"] for g in gates)
    request.champion = champion
    request.gates_checked_at = timezone.now()


def promotion_request_create(
    *,
    actor: AbstractBaseUser,
    model_version: ModelVersion,
    target: str,
    justification: str,
) -> PromotionRequest:
    project = model_version.registered_model.project
    require_role(actor, project, Role.CONTRIBUTOR)
    errors: dict[str, list[str]] = {}
    if target not in TARGETS:
        errors["target"] = [f"'{target}' is not a stage to promote to; use staging or production."]
    elif model_version.stage == target:
        errors["target"] = [f"Version {model_version.version} is already in {target}."]
    if not (justification or "").strip():
        errors["justification"] = ["Say why this version should be promoted."]
    if errors:
        raise ValidationError(errors)
    task = model_version.training_job.task if model_version.training_job else ""
    policy = policy_for(model_version.registered_model, target, task=task)
    try:
        with transaction.atomic():
            # Serialises creates for one version: the pending-request check below holds.
            ModelVersion.objects.select_for_update().filter(pk=model_version.pk).first()
            _refuse_duplicate(model_version, target)
            request = PromotionRequest(
                model_version=model_version,
                target=target,
                justification=justification.strip(),
                requested_by=actor,
                approvals_required=policy.approvals_required,
                expires_at=timezone.now() + timedelta(days=policy.expiry_days),
            )
            _gates_store(request)
            request.save()
            audit_record(
                actor=actor, action="promotion.request", obj=request, project=project,
                changes={
                    "model": model_version.registered_model.name,
                    "version": model_version.version, "target": target,
                    "gates_passed": request.gates_passed,
                    "approvals_required": request.approvals_required,
                },
            )  # fmt: skip
            notify(
                event="promotion.requested",
                project=project,
                title=_title(request, f"review requested by {actor.get_username()}"),
                body=request.justification,
                users=_reviewers(project.pk, exclude=actor),
                url=request_url(request),
                payload=request_payload(request),
            )
    except IntegrityError as exc:  # a concurrent create won the partial unique constraint
        raise Conflict(_duplicate_message(model_version, target)) from exc
    return request


def _duplicate_message(version: ModelVersion, target: str) -> str:
    return f"Version {version.version} already has a pending request for {target}."


def _refuse_duplicate(version: ModelVersion, target: str) -> None:
    pending = PromotionRequest.objects.filter(
        model_version=version, target=target, status=RequestStatus.PENDING
    ).first()
    if pending is not None:
        if pending.expires_at <= timezone.now():
            _expire(pending)
            return
        raise Conflict(f"{_duplicate_message(version, target)} (#{pending.pk})")


def _locked(request: PromotionRequest) -> PromotionRequest:
    return (
        PromotionRequest.objects.select_for_update(of=("self",))
        .select_related("model_version__registered_model__project", "requested_by")
        .get(pk=request.pk)
    )


def _closed_error(request: PromotionRequest) -> Conflict | None:
    """None while the request is open; a pending one past its expiry is expired here (and the
    caller commits that before refusing)."""
    if request.status == RequestStatus.PENDING and request.expires_at <= timezone.now():
        _expire(request)
    if request.status != RequestStatus.PENDING:
        return Conflict(f"Request #{request.pk} is {request.status}; it can no longer change.")
    return None


def _expire(request: PromotionRequest) -> None:
    request.status = RequestStatus.EXPIRED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    project = request.model_version.registered_model.project
    audit_record(
        actor=None, action="promotion.expire", obj=request, project=project,
        changes={"status": {"from": RequestStatus.PENDING, "to": RequestStatus.EXPIRED}},
    )  # fmt: skip
    notify(
        event="promotion.expired",
        project=project,
        title=_title(request, "request expired"),
        users=[request.requested_by] if request.requested_by else [],
        url=request_url(request),
        payload=request_payload(request),
    )


def _check_reviewer(actor: AbstractBaseUser, request: PromotionRequest, verb: str) -> None:
    require_role(actor, request.model_version.registered_model.project, Role.REVIEWER)
    if request.requested_by_id == actor.pk:
        raise PermissionDenied(f"You requested this promotion; someone else must {verb} it.")


def _check_not_reviewed(actor: AbstractBaseUser, request: PromotionRequest) -> None:
    if Review.objects.filter(request=request, reviewer=actor).exists():
        raise Conflict(f"You have already reviewed request #{request.pk}.")


def promotion_approve(
    *, actor: AbstractBaseUser, request: PromotionRequest, comment: str = ""
) -> PromotionRequest:
    _check_reviewer(actor, request, "approve")
    refusal: APIException | None = None
    with transaction.atomic():
        request = _locked(request)
        refusal = _closed_error(request)
        if refusal is None:
            _check_not_reviewed(actor, request)
            refusal = _approve_locked(actor=actor, request=request, comment=comment)
    if refusal is not None:
        raise refusal
    return request


def _approve_locked(
    *, actor: AbstractBaseUser, request: PromotionRequest, comment: str
) -> APIException | None:
    approvals = request.reviews.filter(decision=Decision.APPROVE).count() + 1
    final = approvals >= request.approvals_required
    if final:
        # Re-checked now: the champion or the data may have changed since the request.
        _gates_store(request)
        request.save(update_fields=["gates", "gates_passed", "champion", "gates_checked_at"])
    if not request.gates_passed and not request.override_reason:
        failing = [g["name"] for g in request.gates if not g["passed"]]
        return Conflict(
            f"Gates failing: {', '.join(failing)}. A project admin may override them "
            "with a written reason."
        )
    Review.objects.create(
        request=request, reviewer=actor, decision=Decision.APPROVE, comment=comment or ""
    )
    project = request.model_version.registered_model.project
    audit_record(
        actor=actor, action="promotion.review", obj=request, project=project,
        changes={"decision": Decision.APPROVE, "comment": comment or "",
                 "approvals": approvals, "required": request.approvals_required},
    )  # fmt: skip
    if final:
        _promote(actor=actor, request=request)
    return None


def promotion_reject(
    *, actor: AbstractBaseUser, request: PromotionRequest, comment: str = ""
) -> PromotionRequest:
    _check_reviewer(actor, request, "reject")
    refusal: APIException | None = None
    with transaction.atomic():
        request = _locked(request)
        refusal = _closed_error(request)
        if refusal is None:
            _check_not_reviewed(actor, request)
            Review.objects.create(
                request=request, reviewer=actor, decision=Decision.REJECT, comment=comment or ""
            )
            request.status = RequestStatus.REJECTED
            request.decided_at = timezone.now()
            request.save(update_fields=["status", "decided_at"])
            project = request.model_version.registered_model.project
            audit_record(
                actor=actor, action="promotion.reject", obj=request, project=project,
                changes={"status": {"from": RequestStatus.PENDING, "to": request.status},
                         "comment": comment or ""},
            )  # fmt: skip
            notify(
                event="promotion.rejected", project=project,
                title=_title(request, f"rejected by {actor.get_username()}"), body=comment or "",
                users=[request.requested_by] if request.requested_by else [],
                url=request_url(request), payload=request_payload(request),
            )  # fmt: skip
    if refusal is not None:
        raise refusal
    return request


# Cancel, override and expiry live in their own module; callers may import them from here.
from apps.registry.services.promotion_admin import (  # noqa: E402
    promotion_cancel,
    promotion_override,
    promotions_expire,
)

__all__ = [
    "Conflict",
    "promotion_approve",
    "promotion_cancel",
    "promotion_override",
    "promotion_reject",
    "promotion_request_create",
    "promotions_expire",
]
