"""One delivery attempt: claim it, POST the signed body, record what happened, plan the next.

The HTTP request runs outside any transaction (a slow receiver must not hold a row lock); the
claim before it and the record after it are each one short write.
"""

from __future__ import annotations

import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.client import HTTPException
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.services.audit import audit_record
from apps.notifications import conf
from apps.notifications.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from apps.notifications.signing import body_bytes, signature

RESPONSE_KEEP_BYTES = 2048
# A retry message may arrive a little before the time the database holds (clock skew).
EARLY = timedelta(seconds=1)
USER_AGENT = "mlops-portal-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    status: str  # "succeeded", "retry", "failed" or "skipped" (done, not due, or claimed)
    countdown: float | None = None


@dataclass(frozen=True)
class Response:
    status_code: int | None
    error: str
    body: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff_seconds(attempt: int) -> float:
    """Exponential in the attempt number, capped, with jitter so a receiver that comes back
    is not hit by every delayed delivery in the same second."""
    delay = min(conf.retry_cap_seconds(), conf.retry_base_seconds() * 2 ** (attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def webhook_deliver(*, delivery_id: int, now: datetime | None = None) -> Outcome:
    now = now or timezone.now()
    number = _claim(delivery_id, now)
    if number is None:
        return Outcome("skipped")
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None:  # its webhook was deleted meanwhile
        return Outcome("skipped")
    response = _post(delivery, number)
    return _record(delivery_id, number, response)


def _claim(delivery_id: int, now: datetime) -> int | None:
    """Compare-and-set on the attempt counter: of two workers holding the same message, one
    moves it forward and sends; the other updates nothing and stops."""
    row = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .values("attempts")
        .first()
    )
    if row is None:
        return None
    lease = now + timedelta(seconds=conf.timeout_seconds() + 30)
    claimed = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, attempts=row["attempts"]
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + EARLY))
        .update(attempts=row["attempts"] + 1, next_attempt_at=lease)
    )
    return row["attempts"] + 1 if claimed == 1 else None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A 3xx is the receiver's answer, recorded as a failure: following it could send the
    # signed body to a host the admin never configured.
    def redirect_request(self, *args, **kwargs) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(delivery: WebhookDelivery, number: int) -> Response:
    url = delivery.webhook.url
    if urlsplit(url).scheme not in ("http", "https"):
        return Response(None, "Only http and https URLs are delivered to.", "", 0)
    body = body_bytes(delivery.payload)
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Portal-Event": delivery.event,
            "X-Portal-Delivery": str(delivery.pk),
            "X-Portal-Attempt": str(number),
            "X-Portal-Timestamp": str(timestamp),
            "X-Portal-Signature": signature(delivery.webhook.secret, timestamp, body),
        },
    )
    started = time.monotonic()
    code, error, text = None, "", b""
    try:
        with _opener.open(request, timeout=conf.timeout_seconds()) as answer:
            code, text = answer.status, answer.read(RESPONSE_KEEP_BYTES)
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code} {exc.reason}"
        text = _read_quietly(exc)
    except urllib.error.URLError as exc:
        error = _describe(exc.reason)
    except (OSError, HTTPException, ValueError) as exc:  # timeouts mid-read, bad status lines
        error = _describe(exc)
    duration = round((time.monotonic() - started) * 1000)
    # PostgreSQL text cannot hold NUL; the log is for people, so replace what does not decode.
    shown = text[:RESPONSE_KEEP_BYTES].decode("utf-8", "replace").replace("\x00", "")
    return Response(code, error, shown, duration)


def _read_quietly(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(RESPONSE_KEEP_BYTES)
    except (OSError, HTTPException, ValueError):
        return b""


def _describe(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return f"Timed out after {conf.timeout_seconds():g} s"
    name = type(reason).__name__ if isinstance(reason, BaseException) else "Error"
    return f"{name}: {reason}"[:1000]


def _record(delivery_id: int, number: int, response: Response) -> Outcome:
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("webhook__project")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return Outcome("skipped")
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            status_code=response.status_code,
            error=response.error,
            response_body=response.body,
            duration_ms=response.duration_ms,
        )
        if delivery.status != DeliveryStatus.PENDING:
            return Outcome("skipped")
        if response.ok:
            outcome = Outcome(DeliveryStatus.SUCCEEDED)
            delivery.status, delivery.delivered_at = DeliveryStatus.SUCCEEDED, now
            delivery.next_attempt_at = None
        elif number >= conf.max_attempts():
            outcome = Outcome(DeliveryStatus.FAILED)
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            countdown = backoff_seconds(number)
            outcome = Outcome("retry", countdown)
            delivery.next_attempt_at = now + timedelta(seconds=countdown)
        delivery.save(update_fields=["status", "delivered_at", "next_attempt_at"])
        if outcome.status != "retry":
            audit_record(
                actor=None,
                action=f"webhook.delivery.{outcome.status}",
                obj=delivery,
                project=delivery.webhook.project,
                changes={
                    "status": {"from": DeliveryStatus.PENDING, "to": outcome.status},
                    "attempts": number,
                    "event": delivery.event,
                },
            )
    return outcome


def deliveries_resend_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Send again the pending deliveries whose retry message was lost (a broker outage, a
    worker killed between recording an attempt and sending the next)."""
    from apps.notifications.webhooks import delivery_send

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=conf.sweep_grace_seconds())
    ids = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in ids:
        delivery_send(delivery_id)
    return ids
