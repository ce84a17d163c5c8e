"""Tell people: inbox items for named users and webhook deliveries for the project's
subscribed webhooks, written in the caller's transaction; deliveries are sent after commit."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound

from apps.core.models import Project
from apps.core.services.audit import audit_record
from apps.notifications.models import InboxItem
from apps.notifications.webhooks import webhooks_dispatch

__all__ = ["inbox_mark_all_read", "inbox_mark_read", "notify", "webhooks_dispatch"]


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


def inbox_mark_read(*, user: AbstractBaseUser, item: InboxItem) -> InboxItem:
    """Mark one of `user`'s own items read (the caller looked it up among theirs)."""
    if item.user_id != user.pk:
        raise NotFound("Not found.")
    if item.read_at is not None:
        return item
    with transaction.atomic():
        # Compare-and-set: a second click (or tab) neither moves the time nor audits twice.
        now = timezone.now()
        if InboxItem.objects.filter(pk=item.pk, read_at=None).update(read_at=now):
            item.read_at = now
            audit_record(actor=user, action="inbox.read", obj=item, project=item.project)
        else:
            item.refresh_from_db(fields=["read_at"])
    return item


def inbox_mark_all_read(*, user: AbstractBaseUser) -> int:
    """Mark every unread item of `user` read; returns how many were unread."""
    with transaction.atomic():
        count = InboxItem.objects.filter(user=user, read_at=None).update(read_at=timezone.now())
        if count:
            audit_record(
                actor=user,
                action="inbox.read_all",
                object_type="notifications.inboxitem",
                changes={"count": count},
            )
    return count
