"""Bring the MLflow Model Registry in line with an approved promotion.

The portal's database is the source of truth; MLflow follows after commit. Every step is
idempotent (setting an alias or a tag twice is harmless), so a retried or re-sent sync is safe.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from apps.core.mlflow_store import tracking_client
from apps.registry.models import Decision, ModelVersion, PromotionRequest, RequestStatus, Stage

log = logging.getLogger(__name__)

SYNC_GRACE = timedelta(minutes=1)


def promotion_sync_mlflow(*, request_id: int) -> bool:
    """Point the target alias at the approved version and tag it. True when MLflow now agrees;
    False when there is nothing to do. Raises (after recording the error) when MLflow fails."""
    request = (
        PromotionRequest.objects.select_related("model_version__registered_model", "champion")
        .filter(pk=request_id)
        .first()
    )
    if request is None or request.status != RequestStatus.APPROVED:
        return False
    version = request.model_version
    if version.stage != request.target:
        # A later promotion replaced it; that promotion's sync owns the alias now.
        _mark_synced(request_id)
        return False
    name, number = version.registered_model.name, str(version.version)
    approvers = request.reviews.filter(decision=Decision.APPROVE).order_by("created_at")
    try:
        client = tracking_client()
        client.set_registered_model_alias(name, request.target, number)
        client.set_model_version_tag(name, number, "portal.promotion_request", str(request.pk))
        client.set_model_version_tag(
            name,
            number,
            "portal.approvers",
            ",".join(approvers.values_list("reviewer__username", flat=True)),
        )
        client.set_model_version_tag(name, number, "portal.stage", request.target)
        champion = request.champion
        if champion is not None and champion.pk != version.pk:
            client.set_model_version_tag(
                name, str(champion.version), "portal.stage", champion.stage
            )
        if request.target == Stage.PRODUCTION:
            _drop_stale_staging_alias(client, version)
    except Exception as exc:
        log.warning("MLflow sync of promotion %s failed: %s", request_id, exc)
        PromotionRequest.objects.filter(pk=request_id).update(
            mlflow_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    _mark_synced(request_id)
    return True


def _mark_synced(request_id: int) -> None:
    PromotionRequest.objects.filter(pk=request_id).update(
        mlflow_synced_at=timezone.now(), mlflow_error=""
    )


def _drop_stale_staging_alias(client, version: ModelVersion) -> None:
    """The version left staging for production; if nothing replaced it there, the staging
    alias must not keep pointing at it."""
    model = version.registered_model
    if ModelVersion.objects.filter(registered_model=model, stage=Stage.STAGING).exists():
        return
    aliases = client.get_registered_model(model.name).aliases or {}
    if str(aliases.get(Stage.STAGING, "")) == str(version.version):
        client.delete_registered_model_alias(model.name, Stage.STAGING)


def promotions_unsynced(*, older_than: timedelta = SYNC_GRACE) -> list[int]:
    """Approved requests MLflow has not caught up with (the sync was lost or keeps failing)."""
    cutoff = timezone.now() - older_than
    return list(
        PromotionRequest.objects.filter(
            status=RequestStatus.APPROVED, mlflow_synced_at=None, decided_at__lt=cutoff
        )
        .order_by("decided_at")
        .values_list("pk", flat=True)
    )
