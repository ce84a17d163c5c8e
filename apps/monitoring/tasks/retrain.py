"""Scheduled retraining: the entry point of each policy's django-celery-beat PeriodicTask."""

from __future__ import annotations

from celery import shared_task

from apps.monitoring.models import RetrainPolicy, RetrainTrigger


@shared_task(name="monitoring.retrain_scheduled")
def retrain_scheduled(policy_id: int) -> int | None:
    """Triggers the policy; returns the run's id (None: deleted, disabled or unscheduled)."""
    from apps.monitoring.services.retrain import retrain_trigger

    policy = RetrainPolicy.objects.filter(pk=policy_id).first()
    if policy is None:
        return None
    run = retrain_trigger(policy=policy, trigger=RetrainTrigger.SCHEDULE)
    return run.pk if run is not None else None
