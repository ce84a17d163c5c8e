"""Reads of the notifications app: a user's inbox, and the webhooks and deliveries of the
projects they belong to (members read; the secret never leaves the row)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from apps.core.permissions import scope_to_member_projects
from apps.notifications.models import (
    DeliveryStatus,
    InboxItem,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)


def inbox_list(*, user: AbstractBaseUser | AnonymousUser, unread: bool = False) -> QuerySet:
    if not user.is_authenticated:
        return InboxItem.objects.none()
    items = InboxItem.objects.filter(user=user).select_related("project")
    return items.filter(read_at=None) if unread else items


def inbox_unread_count(*, user: AbstractBaseUser) -> int:
    return InboxItem.objects.filter(user=user, read_at=None).count()


def webhook_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Webhook]:
    """With the latest delivery's status and the number of failed deliveries, in one query."""
    latest = WebhookDelivery.objects.filter(webhook=OuterRef("pk")).order_by("-created_at", "-id")
    webhooks = Webhook.objects.select_related("project", "created_by").annotate(
        last_status=Subquery(latest.values("status")[:1]),
        last_delivery_at=Subquery(latest.values("created_at")[:1]),
        failed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
    )
    return scope_to_member_projects(webhooks, user).order_by("project__slug", "id")


def delivery_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[WebhookDelivery]:
    """Deliveries with their attempts (one extra query per page, not per row)."""
    deliveries = WebhookDelivery.objects.select_related("webhook__project").prefetch_related(
        Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
    )
    return scope_to_member_projects(deliveries, user, "webhook__project")
