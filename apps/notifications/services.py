"""Tell people: inbox items for named users and webhook deliveries for the project's
subscribed webhooks, written in the caller's transaction; deliveries are sent after commit."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser

from apps.core.models import Project
from apps.notifications.models import InboxItem


def notify(
    *,
    event: str,
    project: Project,
    title: str,
    payload: dict,
    users: Iterable[AbstractBaseUser] = (),
    body: str = "",
    url: str = "",
) -> None:
    """One event: an inbox item per user (each user once) and a delivery per subscribed
    webhook of `project`. Call it inside the transaction of the change it reports."""
    seen: set[int] = set()
    items = []
    for user in users:
        if user is None or user.pk in seen:
            continue
        seen.add(user.pk)
        items.append(
            InboxItem(
                user=user, project=project, event=event, title=title[:300], body=body, url=url
            )
        )
    InboxItem.objects.bulk_create(items)
    webhooks_dispatch(event=event, project=project, payload=payload)


def webhooks_dispatch(*, event: str, project: Project, payload: dict) -> None:
    """Create a delivery per active webhook of `project` subscribed to `event`, each sent by
    a Celery task on commit."""
    # The webhook side is built in apps.notifications.webhooks; until then nothing is sent.
    return None
