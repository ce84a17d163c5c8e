"""Celery entry points of the notifications app (the work is in apps.notifications.delivery)."""

from __future__ import annotations

from celery import shared_task

from apps.notifications.delivery import deliveries_resend_due, webhook_deliver
from apps.notifications.webhooks import delivery_send


@shared_task(name="notifications.deliver_webhook", acks_late=True, reject_on_worker_lost=True)
def deliver_webhook(delivery_id: int) -> str:
    """One attempt; a failed one that may be retried sends the next with its backoff."""
    outcome = webhook_deliver(delivery_id=delivery_id)
    if outcome.status == "retry":
        delivery_send(delivery_id, countdown=outcome.countdown)
    return outcome.status


@shared_task(name="notifications.resend_due_webhooks")
def resend_due_webhooks() -> list[int]:
    return deliveries_resend_due()
