"""Signed webhook deliveries against a real local HTTP receiver: the signature verifies, the body
is the payload, failures are recorded attempt by attempt and retried with backoff up to a
maximum, a delivered event is never sent twice, and a real Celery worker does it all on Redis."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.notifications import delivery as delivery_module
from apps.notifications.delivery import backoff_seconds, deliveries_resend_due, webhook_deliver
from apps.notifications.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from apps.notifications.services import notify
from apps.notifications.webhooks import webhook_create, webhooks_dispatch
from tests.celery_worker import wait_for
from tests.notifications.conftest import SECRET

pytestmark = pytest.mark.django_db


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    # The recipe the README documents, written out independently of the portal's code.
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def promotion_requested(world, **payload) -> list[WebhookDelivery]:
    notify(
        event="promotion.requested",
        project=world.alpha,
        title="carl asks to promote churn v3 to production",
        payload={"request": 7, "model": "churn", "version": 3, **payload},
        users=[world.users["rita"]],
    )
    return list(WebhookDelivery.objects.order_by("id"))


def test_signed_post_carries_the_payload_and_verifies(world, hook, receiver):
    [delivery] = promotion_requested(world, approvals=Decimal("2"), at=timezone.now())
    outcome = webhook_deliver(delivery_id=delivery.pk)
    assert outcome.status == "succeeded"

    [request] = receiver.requests
    assert request.path == "/hooks/portal"
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-portal-event"] == "promotion.requested"
    assert headers["x-portal-delivery"] == str(delivery.pk)
    timestamp = headers["x-portal-timestamp"]
    assert abs(int(timestamp) - timezone.now().timestamp()) < 60
    assert headers["x-portal-signature"] == expected_signature(SECRET, timestamp, request.body)
    assert headers["x-portal-signature"] != expected_signature(
        "wrong" + SECRET, timestamp, request.body
    )

    body = json.loads(request.body)
    delivery.refresh_from_db()
    assert body == delivery.payload
    assert body["event"] == "promotion.requested" and body["id"] == delivery.pk
    assert body["project"] == "alpha" and body["created_at"]
    assert body["data"]["request"] == 7 and body["data"]["approvals"] == "2"

    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.delivered_at
    [attempt] = delivery.attempt_log.all()
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, "")
    assert attempt.response_body == "answer 1: 200"
    assert AuditEvent.objects.filter(
        action="webhook.delivery.succeeded", object_id=str(delivery.pk), project=world.alpha
    ).exists()


def test_500_then_200_records_two_attempts_and_succeeds(world, hook, receiver, fast_retries):
    receiver.answer_with(500, 200)
    [delivery] = promotion_requested(world)
    first = webhook_deliver(delivery_id=delivery.pk)
    assert first.status == "retry" and first.countdown is not None
    assert webhook_deliver(delivery_id=delivery.pk).status == "succeeded"

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 2
    attempts = list(delivery.attempt_log.values_list("number", "status_code", "response_body"))
    assert attempts == [(1, 500, "answer 1: 500"), (2, 200, "answer 2: 200")]
    assert "HTTP 500" in delivery.attempt_log.get(number=1).error
    # Every attempt sends the very same bytes (only the timestamp and signature change).
    assert receiver.requests[0].body == receiver.requests[1].body


def test_always_500_stops_at_the_maximum_as_failed(world, hook, receiver, fast_retries):
    receiver.answer_with(500)
    [delivery] = promotion_requested(world)
    outcomes = [webhook_deliver(delivery_id=delivery.pk).status for _ in range(4)]
    assert outcomes == ["retry", "retry", "failed", "skipped"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    assert delivery.attempt_log.count() == 3 and len(receiver.requests) == 3
    assert AuditEvent.objects.filter(action="webhook.delivery.failed").count() == 1


def test_connection_refused_is_recorded_and_retried(world, fast_retries):
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    webhook_create(
        actor=world.users["alice"], project=world.alpha, url=f"http://127.0.0.1:{port}/x"
    )
    [delivery] = promotion_requested(world)
    assert webhook_deliver(delivery_id=delivery.pk).status == "retry"
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert "refused" in attempt.error.lower()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None


def test_a_slow_receiver_times_out(world, hook, receiver, fast_retries):
    receiver.delay = 1.5
    [delivery] = promotion_requested(world)
    assert webhook_deliver(delivery_id=delivery.pk).status == "retry"
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None and "Timed out" in attempt.error
    assert attempt.duration_ms >= 900


def test_redirects_are_not_followed(world, hook, receiver, fast_retries):
    receiver.answer_with(302)
    [delivery] = promotion_requested(world)
    assert webhook_deliver(delivery_id=delivery.pk).status == "retry"
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 302 and len(receiver.requests) == 1


def test_a_delivered_event_is_not_sent_again(world, hook, receiver):
    [delivery] = promotion_requested(world)
    assert webhook_deliver(delivery_id=delivery.pk).status == "succeeded"
    assert webhook_deliver(delivery_id=delivery.pk).status == "skipped"
    assert len(receiver.requests) == 1


def test_a_retry_is_not_sent_before_it_is_due(world, hook, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    receiver.answer_with(500, 200)
    [delivery] = promotion_requested(world)
    assert webhook_deliver(delivery_id=delivery.pk).status == "retry"
    assert webhook_deliver(delivery_id=delivery.pk).status == "skipped"  # a stray early message
    later = timezone.now() + timedelta(seconds=61)
    assert webhook_deliver(delivery_id=delivery.pk, now=later).status == "succeeded"


def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    settings.WEBHOOK_RETRY_CAP_SECONDS = 100
    for attempt, full in ((1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)):
        for _ in range(20):
            assert full / 2 <= backoff_seconds(attempt) <= full


def test_only_subscribed_active_webhooks_of_the_project_get_the_event(world, receiver):
    alice, eve = world.users["alice"], world.users["eve"]
    every = webhook_create(actor=alice, project=world.alpha, url=receiver.url)
    approved_only = webhook_create(
        actor=alice, project=world.alpha, url=receiver.url, events=["promotion.approved"]
    )
    webhook_create(actor=alice, project=world.alpha, url=receiver.url, active=False)
    webhook_create(actor=eve, project=world.beta, url=receiver.url)

    requested = webhooks_dispatch(event="promotion.requested", project=world.alpha, payload={})
    approved = webhooks_dispatch(event="promotion.approved", project=world.alpha, payload={})
    assert [d.webhook_id for d in requested] == [every.pk]
    assert sorted(d.webhook_id for d in approved) == sorted([every.pk, approved_only.pk])


def test_deliveries_are_sent_only_after_commit(world, hook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        promotion_requested(world)
    assert len(callbacks) == 1
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        promotion_requested(world)
        raise RuntimeError("the change being reported is rolled back")
    assert callbacks == []
    assert WebhookDelivery.objects.count() == 1


def test_the_sweeper_resends_overdue_pending_deliveries(world, hook, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(
        "apps.notifications.webhooks.delivery_send", lambda pk, **kw: sent.append(pk)
    )
    [overdue] = promotion_requested(world)
    [fresh] = promotion_requested(world)[1:]
    WebhookDelivery.objects.filter(pk=overdue.pk).update(
        next_attempt_at=timezone.now() - timedelta(hours=1)
    )
    assert deliveries_resend_due() == [overdue.pk] and sent == [overdue.pk]
    assert fresh.pk not in sent


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_the_same_attempt(world, hook, receiver):
    receiver.delay = 0.5
    [delivery] = promotion_requested(world)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def work() -> None:
        try:
            start.wait()
            outcomes.append(webhook_deliver(delivery_id=delivery.pk).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["skipped", "succeeded"]
    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_until_the_receiver_answers(
    world, hook, receiver, workers, monkeypatch
):
    # The worker process reads these from its environment (it inherits ours).
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "0.2")
    monkeypatch.setenv("WEBHOOK_MAX_ATTEMPTS", "4")
    receiver.answer_with(500, 200)
    worker = workers()
    with transaction.atomic():
        [delivery] = promotion_requested(world)

    def status() -> str:
        return WebhookDelivery.objects.values_list("status", flat=True).get(pk=delivery.pk)

    wait_for(lambda: status() == DeliveryStatus.SUCCEEDED, 30, worker.log)
    assert list(
        WebhookAttempt.objects.filter(delivery=delivery).values_list("number", "status_code")
    ) == [(1, 500), (2, 200)]
    last = receiver.requests[-1]
    headers = {k.lower(): v for k, v in last.headers.items()}
    signed = expected_signature(SECRET, headers["x-portal-timestamp"], last.body)
    assert headers["x-portal-signature"] == signed
    assert json.loads(last.body)["id"] == delivery.pk


def test_the_delivery_module_refuses_non_http_urls(world, hook):
    # Rows written around the validators (a shell, a data migration) are still not fetched.
    [delivery] = promotion_requested(world)
    hook.__class__.objects.filter(pk=hook.pk).update(url="file:///etc/passwd")
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery.pk)
    response = delivery_module._post(delivery, 1)
    assert response.status_code is None and "http" in response.error
