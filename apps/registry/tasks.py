"""Celery entry points of the registry (the work is in services)."""

from __future__ import annotations

from celery import shared_task

from apps.registry.services.mlflow_sync import promotion_sync_mlflow, promotions_unsynced
from apps.registry.services.promotions import promotions_expire


@shared_task(
    name="registry.sync_promotion",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
    reject_on_worker_lost=True,
)
def sync_promotion(request_id: int) -> bool:
    return promotion_sync_mlflow(request_id=request_id)


@shared_task(name="registry.reconcile_mlflow")
def reconcile_mlflow() -> list[int]:
    """Re-send the sync of approved promotions MLflow has not caught up with (MLflow was down
    longer than the retries lasted, or the process died before sending)."""
    ids = promotions_unsynced()
    for request_id in ids:
        sync_promotion.delay(request_id)
    return ids


@shared_task(name="registry.expire_promotions")
def expire_promotions() -> list[int]:
    return promotions_expire()
