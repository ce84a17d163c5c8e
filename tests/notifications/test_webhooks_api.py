"""The webhooks API: admins manage, members read without the secret, strangers find nothing;
bad URLs, events and secrets are 400s naming the field; every write is audited."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.notifications.delivery import webhook_deliver
from apps.notifications.models import Webhook, WebhookDelivery
from apps.notifications.webhooks import webhook_create
from tests.notifications.conftest import SECRET

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/portal"


def create(api, user, **body):
    return api(user).post("/api/v1/webhooks/", {"project": "alpha", "url": URL, **body})


def test_admin_creates_and_sees_a_generated_secret_once(world, api):
    response = create(api, world.users["alice"], events=["promotion.approved"])
    assert response.status_code == 201, response.json()
    body = response.json()
    secret = body["secret"]
    assert len(secret) >= 32 and body["secret_hint"] == f"…{secret[-4:]}"
    assert body["events"] == ["promotion.approved"] and body["active"] is True
    assert body["project"] == "alpha" and body["created_by"] == "alice"
    assert Webhook.objects.get(pk=body["id"]).secret == secret

    again = api(world.users["alice"]).get(f"/api/v1/webhooks/{body['id']}/").json()
    assert "secret" not in again and again["secret_hint"] == body["secret_hint"]
    listed = api(world.users["vera"]).get("/api/v1/webhooks/?project=alpha").json()
    assert listed["count"] == 1 and "secret" not in listed["results"][0]
    event = AuditEvent.objects.get(action="webhook.create", object_id=str(body["id"]))
    assert secret not in str(event.changes) and event.actor_username == "alice"


def test_a_given_secret_is_kept(world, api):
    body = create(api, world.users["alice"], secret=SECRET).json()
    assert Webhook.objects.get(pk=body["id"]).secret == SECRET


@pytest.mark.parametrize(
    "url",
    ["ftp://files.example.com/in", "javascript:alert(1)", "file:///etc/passwd", "not a url", ""],
)
def test_a_url_that_is_not_http_is_refused(world, api, url):
    response = create(api, world.users["alice"], url=url)
    assert response.status_code == 400
    assert "url" in response.json()
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "body,field",
    [
        ({"events": ["promotion.exploded"]}, "events"),
        ({"events": "promotion.approved"}, "events"),
        ({"secret": "short"}, "secret"),
        ({"project": "nope"}, "project"),
    ],
)
def test_bad_fields_are_named(world, api, body, field):
    response = create(api, world.users["alice"], **body)
    assert response.status_code == 400 and field in response.json()


@pytest.mark.parametrize("name", ["rita", "carl", "vera"])
def test_members_below_admin_may_not_create(world, api, name):
    assert create(api, world.users[name]).status_code == 403


def test_a_stranger_finds_nothing(world, api):
    hook = webhook_create(actor=world.users["alice"], project=world.alpha, url=URL)
    eve = api(world.users["eve"])
    path = f"/api/v1/webhooks/{hook.pk}/"
    assert eve.get(path).status_code == 404
    assert eve.patch(path, {"active": False}).status_code == 404
    assert eve.delete(path).status_code == 404
    assert eve.post(path + "test/").status_code == 404
    assert eve.get("/api/v1/webhooks/").json()["count"] == 0
    assert eve.get(f"/api/v1/webhook-deliveries/?webhook={hook.pk}").json()["count"] == 0
    # Naming alpha in a body: for eve that project does not exist.
    assert create(api, world.users["eve"]).status_code == 400


def test_admin_updates_and_the_audit_keeps_no_secret(world, api):
    hook = webhook_create(actor=world.users["alice"], project=world.alpha, url=URL)
    alice = api(world.users["alice"])
    new_secret = "rotated-secret-" + "x" * 20
    response = alice.patch(
        f"/api/v1/webhooks/{hook.pk}/",
        {"active": False, "events": ["promotion.promoted"], "secret": new_secret},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["active"] is False and "secret" not in response.json()
    hook.refresh_from_db()
    assert hook.secret == new_secret and hook.events == ["promotion.promoted"]
    event = AuditEvent.objects.get(action="webhook.update", object_id=str(hook.pk))
    assert event.changes["secret"] is True and new_secret not in str(event.changes)
    assert event.changes["active"] == {"from": True, "to": False}
    bad = alice.patch(f"/api/v1/webhooks/{hook.pk}/", {"url": "ftp://x.example.com/"})
    assert bad.status_code == 400 and "url" in bad.json()
    for name in ("rita", "vera"):
        denied = api(world.users[name]).patch(f"/api/v1/webhooks/{hook.pk}/", {"active": True})
        assert denied.status_code == 403


def test_admin_deletes(world, api):
    hook = webhook_create(actor=world.users["alice"], project=world.alpha, url=URL)
    assert api(world.users["carl"]).delete(f"/api/v1/webhooks/{hook.pk}/").status_code == 403
    assert api(world.users["alice"]).delete(f"/api/v1/webhooks/{hook.pk}/").status_code == 204
    assert not Webhook.objects.exists()
    assert AuditEvent.objects.filter(action="webhook.delete", object_id=str(hook.pk)).exists()


def test_send_a_test_event_and_read_its_attempts(world, api, hook, receiver):
    assert api(world.users["vera"]).post(f"/api/v1/webhooks/{hook.pk}/test/").status_code == 403
    response = api(world.users["alice"]).post(f"/api/v1/webhooks/{hook.pk}/test/")
    assert response.status_code == 202
    body = response.json()
    assert body["event"] == "webhook.test" and body["status"] == "pending"
    assert body["payload"]["data"]["sent_by"] == "alice"
    assert AuditEvent.objects.filter(action="webhook.test", object_id=str(hook.pk)).exists()

    webhook_deliver(delivery_id=body["id"])
    listed = api(world.users["vera"]).get(f"/api/v1/webhook-deliveries/?webhook={hook.pk}")
    [row] = listed.json()["results"]
    assert row["status"] == "succeeded"
    assert row["attempt_log"][0]["status_code"] == 200
    assert row["attempt_log"][0]["response_body"] == "answer 1: 200"
    assert set(row["attempt_log"][0]) >= {"number", "error", "duration_ms", "at"}
    detail = api(world.users["vera"]).get(f"/api/v1/webhook-deliveries/{body['id']}/")
    assert detail.status_code == 200
    failed = api(world.users["vera"]).get("/api/v1/webhook-deliveries/?status=failed")
    assert failed.json()["count"] == 0


def test_an_inactive_webhook_still_gets_an_explicit_test(world, api, hook):
    Webhook.objects.filter(pk=hook.pk).update(active=False)
    assert api(world.users["alice"]).post(f"/api/v1/webhooks/{hook.pk}/test/").status_code == 202
    assert WebhookDelivery.objects.filter(webhook=hook, event="webhook.test").count() == 1
