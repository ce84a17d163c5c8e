"""What the portal tells people: an in-app inbox per user, and signed outbound webhooks per
project, each delivery and each of its attempts recorded."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models

# Events a webhook may subscribe to (the promotion workflow's; later apps add theirs).
EVENTS = {
    "promotion.requested": "A promotion was requested",
    "promotion.approved": "A promotion request was approved",
    "promotion.rejected": "A promotion request was rejected",
    "promotion.promoted": "A model version entered a stage",
    "promotion.expired": "A promotion request expired",
    "alert.opened": "A monitoring alert opened",
    "alert.resolved": "A monitoring alert resolved",
    "retrain.requested": "A retraining opened a promotion request",
    "retrain.failed": "A retraining failed",
    "budget.warning": "A project reached 80% of its monthly budget",
    "budget.exceeded": "A project reached 100% of its monthly budget",
    "lineage.review_requested": "A review of the models depending on some data was requested",
}
# Sent by "send a test event" to one webhook, whatever it subscribes to.
TEST_EVENT = "webhook.test"

# ftp:, file:, javascript: and the like are never fetched by the delivery task.
http_url = URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// URL.")


class InboxItem(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_items"
    )
    project = models.ForeignKey("core.Project", on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user", "-created_at"],
                condition=models.Q(read_at__isnull=True),
                name="inbox_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.title}"


class Webhook(models.Model):
    project = models.ForeignKey("core.Project", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500, validators=[http_url])
    secret = models.CharField(max_length=200, help_text="Signs each payload (HMAC-SHA256).")
    events = models.JSONField(default=list, help_text="Event names; empty means all.")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project__slug", "id"]

    def __str__(self) -> str:
        return f"{self.project.slug} → {self.url}"

    @property
    def secret_hint(self) -> str:
        """Enough to tell secrets apart, never enough to sign with."""
        return f"…{self.secret[-4:]}" if len(self.secret) >= 12 else "…"

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class DeliveryStatus(models.TextChoices):
    """pending → succeeded | failed (after the last retry); a pending one may be retrying."""

    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event sent to one webhook: the payload as signed, and where its attempts stand.

    `attempts` counts attempts started; `next_attempt_at` is when the next one may start. A
    worker claims an attempt by moving both forward in one conditional UPDATE (the lease covers
    the request in flight), so two workers never send the same attempt.
    """

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=100)
    payload = models.JSONField()
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweeper's scan for deliveries whose retry message was lost.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook.url} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="uniq_attempt_number"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
