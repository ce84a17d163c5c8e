"""The final approval's effect: the version enters the stage, the champion leaves it, history
rows and audit events are written, people are told, and MLflow is updated after commit."""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from apps.core.services.audit import audit_record
from apps.deployments.services.actions import deployment_revision_for_promotion
from apps.notifications.services import notify
from apps.registry.models import ModelVersion, PromotionRequest, RequestStatus, Stage, StageChange
from apps.registry.services.promotion_messages import _title, request_payload, request_url

log = logging.getLogger(__name__)

TARGETS = (Stage.STAGING, Stage.PRODUCTION)
# Where a champion goes when a new version takes its stage.
REPLACED_TO = {Stage.STAGING: Stage.NONE, Stage.PRODUCTION: Stage.ARCHIVED}


def _promote(*, actor: AbstractBaseUser, request: PromotionRequest) -> None:
    now = timezone.now()
    target = request.target
    version = ModelVersion.objects.select_for_update().get(pk=request.model_version_id)
    project = request.model_version.registered_model.project
    champion = (
        ModelVersion.objects.select_for_update()
        .filter(registered_model_id=version.registered_model_id, stage=target)
        .exclude(pk=version.pk)
        .first()
    )
    reason = f"promotion #{request.pk}"
    if champion is not None:
        # The champion leaves first: the database allows one version per stage.
        replaced = f"replaced by v{version.version} ({reason})"
        _set_stage(champion, REPLACED_TO[target], actor=actor, request=request, at=now,
                   reason=replaced, project=project)  # fmt: skip
    _set_stage(version, target, actor=actor, request=request, at=now, reason=reason,
               project=project)  # fmt: skip
    request.status = RequestStatus.APPROVED
    request.decided_at = now
    request.champion = champion
    request.save(update_fields=["status", "decided_at", "champion"])
    deployment_revision_for_promotion(actor=actor, request=request)
    audit_record(
        actor=actor, action="promotion.approve", obj=request, project=project,
        changes={"status": {"from": RequestStatus.PENDING, "to": RequestStatus.APPROVED},
                 "override": bool(request.override_reason)},
    )  # fmt: skip
    payload = request_payload(request)
    requester = [request.requested_by] if request.requested_by else []
    approvers = [r.reviewer for r in request.reviews.select_related("reviewer")]
    notify(event="promotion.approved", project=project, title=_title(request, "approved"),
           users=requester, url=request_url(request), payload=payload)  # fmt: skip
    notify(event="promotion.promoted", project=project, title=_title(request, "promoted"),
           users=requester + approvers, url=request_url(request), payload=payload)  # fmt: skip
    request_id = request.pk
    transaction.on_commit(lambda: _send_sync(request_id))


def _set_stage(
    version: ModelVersion, stage: str, *, actor, request, at: datetime, reason: str, project
) -> None:
    previous = version.stage
    version.stage = stage
    version.stage_changed_at = at
    version.stage_changed_by = actor
    version.save(update_fields=["stage", "stage_changed_at", "stage_changed_by"])
    StageChange.objects.create(
        model_version=version, from_stage=previous, to_stage=stage, request=request,
        changed_by=actor, reason=reason[:200], at=at,
    )  # fmt: skip
    audit_record(
        actor=actor, action="promotion.promoted" if stage in TARGETS else "model_version.stage",
        obj=version, project=project,
        changes={"stage": {"from": previous, "to": stage}, "request": request.pk},
    )  # fmt: skip


def _send_sync(request_id: int) -> None:
    from apps.registry.tasks import sync_promotion

    try:
        sync_promotion.delay(request_id)
    except Exception:
        # The portal's state is committed; registry.reconcile_mlflow sends it again later.
        log.exception("could not send the MLflow sync of promotion %s", request_id)
