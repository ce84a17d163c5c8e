"""The inbox page and the project webhooks pages: content, permissions, forms, query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.notifications.delivery import webhook_deliver
from apps.notifications.models import InboxItem, Webhook, WebhookAttempt, WebhookDelivery
from apps.notifications.services import notify
from apps.notifications.webhooks import webhook_create

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def tell(world, name: str, title: str, url: str = "/reviews/") -> InboxItem:
    notify(
        event="promotion.requested", project=world.alpha, title=title, payload={},
        users=[world.users[name]], url=url,
    )  # fmt: skip
    return InboxItem.objects.filter(user=world.users[name]).first()


# --- inbox ----------------------------------------------------------------------------------


def test_inbox_lists_newest_first_with_unread_bold(world):
    old = tell(world, "rita", "Review <b>churn</b> v1")
    tell(world, "rita", "Review churn v2")
    tell(world, "alice", "Not for rita")
    InboxItem.objects.filter(pk=old.pk).update(read_at=old.created_at)
    html = client_for(world.users["rita"]).get("/inbox/").content.decode()
    assert html.index("Review churn v2") < html.index("Review &lt;b&gt;churn&lt;/b&gt; v1")
    assert "<strong>Review churn v2</strong>" in html
    assert "<strong>Review &lt;b&gt;" not in html  # read: not bold; and markup stays text
    assert "Not for rita" not in html
    assert 'data-badge="inbox"' in html and "Mark all read" in html


def test_mark_all_read_from_the_page(world):
    tell(world, "rita", "one")
    tell(world, "rita", "two")
    client = client_for(world.users["rita"])
    response = client.post("/inbox/read-all/")
    assert response.status_code == 302 and response.url == "/inbox/"
    assert not InboxItem.objects.filter(read_at=None).exists()
    html = client.get("/inbox/").content.decode()
    assert "Mark all read" not in html and 'data-badge="inbox"' not in html


def test_opening_an_item_marks_it_read_and_follows_its_link(world):
    item = tell(world, "rita", "Review", url="/reviews/")
    client = client_for(world.users["rita"])
    response = client.get(f"/inbox/{item.pk}/")
    assert response.status_code == 302 and response.url == "/reviews/"
    item.refresh_from_db()
    assert item.read_at is not None
    evil = tell(world, "rita", "Elsewhere", url="https://evil.example.com/")
    assert client.get(f"/inbox/{evil.pk}/").url == "/inbox/"


def test_other_peoples_items_are_not_found_on_pages(world):
    item = tell(world, "rita", "Review")
    alice = client_for(world.users["alice"])
    assert alice.get(f"/inbox/{item.pk}/").status_code == 404
    assert alice.post(f"/inbox/{item.pk}/read/").status_code == 404
    item.refresh_from_db()
    assert item.read_at is None


def test_inbox_needs_a_login(world):
    response = Client().get("/inbox/")
    assert response.status_code == 302 and "/login/" in response.url


def _inbox_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/inbox/").status_code == 200
    return len(ctx.captured_queries)


def test_inbox_page_query_count_does_not_grow_with_items(world):
    client = client_for(world.users["rita"])
    for i in range(3):
        tell(world, "rita", f"item {i}")
    small = _inbox_queries(client)
    for i in range(27):
        tell(world, "rita", f"more {i}")
    assert _inbox_queries(client) == small


# --- webhooks -------------------------------------------------------------------------------

URL = "https://hooks.example.com/portal"


def test_project_page_links_to_its_webhooks(world):
    html = client_for(world.users["vera"]).get("/projects/alpha/").content.decode()
    assert 'href="/projects/alpha/webhooks/"' in html


def test_admin_sees_the_form_and_members_only_the_list(world):
    hook = webhook_create(actor=world.users["alice"], project=world.alpha, url=URL)
    admin = client_for(world.users["alice"]).get("/projects/alpha/webhooks/").content.decode()
    assert "Add a webhook" in admin and "promotion.approved" in admin and "Send test" in admin
    viewer = client_for(world.users["vera"]).get("/projects/alpha/webhooks/")
    html = viewer.content.decode()
    assert viewer.status_code == 200 and URL in html and hook.secret_hint in html
    assert hook.secret not in html and "Add a webhook" not in html and "Send test" not in html
    assert client_for(world.users["eve"]).get("/projects/alpha/webhooks/").status_code == 404
    detail = client_for(world.users["eve"]).get(f"/projects/alpha/webhooks/{hook.pk}/")
    assert detail.status_code == 404


def test_admin_creates_a_webhook_and_sees_its_secret_once(world):
    client = client_for(world.users["alice"])
    response = client.post(
        "/projects/alpha/webhooks/", {"url": URL, "events": ["promotion.approved"], "active": "on"}
    )
    assert response.status_code == 200
    hook = Webhook.objects.get()
    assert hook.events == ["promotion.approved"] and hook.active
    assert hook.secret in response.content.decode()
    assert hook.secret not in client.get(f"/projects/alpha/webhooks/{hook.pk}/").content.decode()


@pytest.mark.parametrize("url", ["ftp://files.example.com/x", "javascript:alert(1)"])
def test_the_form_refuses_non_http_urls(world, url):
    response = client_for(world.users["alice"]).post("/projects/alpha/webhooks/", {"url": url})
    assert response.status_code == 400
    assert "Enter an http:// or https:// URL." in response.content.decode()
    assert not Webhook.objects.exists()


def test_non_admins_cannot_change_webhooks_from_pages(world):
    hook = webhook_create(actor=world.users["alice"], project=world.alpha, url=URL)
    rita = client_for(world.users["rita"])
    assert rita.post("/projects/alpha/webhooks/", {"url": URL}).status_code == 403
    assert rita.post(f"/projects/alpha/webhooks/{hook.pk}/test/").status_code == 403
    assert rita.post(f"/projects/alpha/webhooks/{hook.pk}/delete/").status_code == 403
    assert rita.post(f"/projects/alpha/webhooks/{hook.pk}/edit/", {"url": URL}).status_code == 403
    eve = client_for(world.users["eve"])
    assert eve.post(f"/projects/alpha/webhooks/{hook.pk}/delete/").status_code == 404
    assert Webhook.objects.filter(pk=hook.pk).exists()


def test_webhook_page_shows_deliveries_and_attempts(world, hook, receiver, fast_retries):
    receiver.answer_with(500, 200)
    client = client_for(world.users["alice"])
    assert client.post(f"/projects/alpha/webhooks/{hook.pk}/test/").status_code == 302
    delivery = WebhookDelivery.objects.get()
    webhook_deliver(delivery_id=delivery.pk)
    webhook_deliver(delivery_id=delivery.pk)
    html = client_for(world.users["vera"]).get(f"/projects/alpha/webhooks/{hook.pk}/").content
    html = html.decode()
    assert f'data-delivery="{delivery.pk}"' in html and "webhook.test" in html
    assert "HTTP 500" in html and "HTTP 200" in html and "answer 2: 200" in html
    assert "Succeeded" in html and "Send a test event" not in html  # vera may not send


def test_admin_edits_and_deletes_from_the_webhook_page(world):
    hook = webhook_create(actor=world.users["alice"], project=world.alpha, url=URL)
    client = client_for(world.users["alice"])
    edit = f"/projects/alpha/webhooks/{hook.pk}/edit/"
    bad = client.post(edit, {"url": "ftp://x.example.com/"})
    assert bad.status_code == 400 and "http://" in bad.content.decode()
    saved = client.post(edit, {"url": URL + "/v2", "events": ["promotion.expired"]})
    assert saved.status_code == 302
    hook.refresh_from_db()
    assert hook.url == URL + "/v2" and hook.events == ["promotion.expired"] and not hook.active
    deleted = client.post(f"/projects/alpha/webhooks/{hook.pk}/delete/")
    assert deleted.status_code == 302 and deleted.url == "/projects/alpha/webhooks/"
    assert not Webhook.objects.exists()


def _grow_deliveries(world, hook, n: int) -> None:
    from apps.notifications.webhooks import webhook_send_test

    for _ in range(n):
        delivery = webhook_send_test(actor=world.users["alice"], webhook=hook)
        WebhookAttempt.objects.create(delivery=delivery, number=1, status_code=500)
        WebhookAttempt.objects.create(delivery=delivery, number=2, status_code=200)


@pytest.mark.parametrize(
    "path",
    [
        "/projects/alpha/webhooks/",
        "/projects/alpha/webhooks/{hook}/",
        "/api/v1/webhooks/",
        "/api/v1/webhook-deliveries/?webhook={hook}",
    ],
)
def test_webhook_lists_query_count_does_not_grow(world, path):
    hook = webhook_create(actor=world.users["alice"], project=world.alpha, url=URL)
    client = client_for(world.users["alice"])
    url = path.format(hook=hook.pk)
    _grow_deliveries(world, hook, 2)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _grow_deliveries(world, hook, 15)
    webhook_create(actor=world.users["alice"], project=world.alpha, url=URL + "/2")
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
