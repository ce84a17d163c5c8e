"""Webhooks: their management (project admins) and the fan-out of events into deliveries.

A delivery row is written in the caller's transaction; its task is sent only after commit, so
a rolled-back change never reaches a receiver and a committed one always has a row to retry.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.core.models import Project
from apps.core.services.audit import audit_record
from apps.notifications.models import EVENTS, TEST_EVENT, Webhook, WebhookDelivery, http_url
from apps.notifications.signing import new_secret

log = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 16


def webhooks_dispatch(*, event: str, project: Project, payload: dict) -> list[WebhookDelivery]:
    """Create a delivery per active webhook of `project` subscribed to `event`, each sent by
    a Celery task on commit."""
    # Subscriptions are filtered here, not in SQL: JSON containment differs between backends
    # and a project has a handful of webhooks.
    active = Webhook.objects.filter(project=project, active=True)
    hooks = [hook for hook in active if hook.wants(event)]
    if not hooks:
        return []
    data = _jsonable(payload)
    return [
        _delivery_create(webhook=hook, project=project, event=event, data=data) for hook in hooks
    ]


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    """Dates, decimals and UUIDs become strings once, so every attempt signs the same bytes."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def _delivery_create(
    *, webhook: Webhook, project: Project, event: str, data: dict[str, Any]
) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event=event, payload={}, next_attempt_at=timezone.now()
    )
    # The body names its own delivery id, so receivers can ignore a repeat of one they handled.
    delivery.payload = {
        "event": event,
        "id": delivery.pk,
        "created_at": delivery.created_at.isoformat(),
        "project": project.slug,
        "data": data,
    }
    delivery.save(update_fields=["payload"])
    delivery_id = delivery.pk
    transaction.on_commit(lambda: delivery_send(delivery_id))
    return delivery


def delivery_send(delivery_id: int, *, countdown: float | None = None) -> None:
    """Hand a delivery to the broker. A broker that is down loses nothing: the row stays
    pending and the periodic sweeper sends it again."""
    from apps.notifications.tasks import deliver_webhook

    try:
        deliver_webhook.apply_async(args=[delivery_id], queue="default", countdown=countdown)
    except Exception:
        log.exception("could not send webhook delivery %s to the broker", delivery_id)


def _clean_url(url: str) -> str:
    url = url.strip()
    try:
        http_url(url)
    except DjangoValidationError as exc:
        raise ValidationError({"url": exc.messages}) from exc
    return url


def _clean_events(events: list[str]) -> list[str]:
    unknown = sorted({e for e in events if e not in EVENTS})
    if unknown:
        raise ValidationError(
            {"events": [f"Unknown event(s): {', '.join(unknown)}. Known: {', '.join(EVENTS)}."]}
        )
    return sorted(set(events))


def _clean_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError(
            {"secret": [f"Use at least {MIN_SECRET_LENGTH} characters, or leave it empty."]}
        )
    return secret


def webhook_create(
    *,
    actor: AbstractBaseUser,
    project: Project,
    url: str,
    events: list[str] | None = None,
    secret: str = "",
    active: bool = True,
) -> Webhook:
    """A new webhook; without a secret one is generated. The caller shows `secret` once."""
    webhook = Webhook(
        project=project,
        url=_clean_url(url),
        events=_clean_events(events or []),
        secret=_clean_secret(secret) if secret else new_secret(),
        active=active,
        created_by=actor if actor.is_authenticated else None,
    )
    with transaction.atomic():
        webhook.save()
        audit_record(
            actor=actor,
            action="webhook.create",
            obj=webhook,
            project=project,
            changes={"url": webhook.url, "events": webhook.events, "active": active},
        )
    return webhook


def webhook_update(
    *,
    actor: AbstractBaseUser,
    webhook: Webhook,
    url: str | None = None,
    events: list[str] | None = None,
    secret: str | None = None,
    active: bool | None = None,
) -> Webhook:
    new = {}
    if url is not None:
        new["url"] = _clean_url(url)
    if events is not None:
        new["events"] = _clean_events(events)
    if active is not None:
        new["active"] = active
    if secret:
        new["secret"] = _clean_secret(secret)
    with transaction.atomic():
        webhook = Webhook.objects.select_for_update().select_related("project").get(pk=webhook.pk)
        changes: dict[str, Any] = {}
        for field, value in new.items():
            old = getattr(webhook, field)
            if old == value:
                continue
            # The audit trail says a secret changed, never what it is.
            changes[field] = True if field == "secret" else {"from": old, "to": value}
            setattr(webhook, field, value)
        if changes:
            webhook.save(update_fields=list(changes))
            audit_record(
                actor=actor, action="webhook.update", obj=webhook, project=webhook.project,
                changes=changes,
            )  # fmt: skip
    return webhook


def webhook_delete(*, actor: AbstractBaseUser, webhook: Webhook) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="webhook.delete",
            obj=webhook,
            project=webhook.project,
            changes={"url": webhook.url, "events": webhook.events},
        )
        webhook.delete()


def webhook_send_test(*, actor: AbstractBaseUser, webhook: Webhook) -> WebhookDelivery:
    """Deliver a `webhook.test` event to this one webhook, whatever it subscribes to."""
    data = {"message": "A test event from the MLOps portal.", "sent_by": actor.get_username()}
    with transaction.atomic():
        delivery = _delivery_create(
            webhook=webhook, project=webhook.project, event=TEST_EVENT, data=data
        )
        audit_record(
            actor=actor,
            action="webhook.test",
            obj=webhook,
            project=webhook.project,
            changes={"delivery": delivery.pk},
        )
    return delivery
