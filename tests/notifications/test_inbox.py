"""The inbox: notify() writes one item per named user, the API shows each user only theirs,
and marking read works on one's own items only."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.notifications.models import InboxItem
from apps.notifications.services import notify

pytestmark = pytest.mark.django_db


def tell(world, *names, title="Review churn v3", event="promotion.requested", url="/reviews/"):
    notify(
        event=event,
        project=world.alpha,
        title=title,
        payload={"request": 1},
        users=[world.users[n] if n else None for n in names],
        body="carl asks for production.",
        url=url,
    )


def test_notify_writes_one_item_per_user(world):
    tell(world, "rita", "alice", "rita", None)
    assert sorted(InboxItem.objects.values_list("user__username", flat=True)) == ["alice", "rita"]
    item = InboxItem.objects.get(user=world.users["rita"])
    assert item.title == "Review churn v3" and item.read_at is None
    assert item.event == "promotion.requested" and item.url == "/reviews/"


def test_notify_without_users_or_webhooks_writes_nothing(world):
    tell(world)
    assert not InboxItem.objects.exists()


def test_each_user_sees_only_their_items(world, api):
    tell(world, "rita", title="first")
    tell(world, "rita", "alice", title="second")
    rita = api(world.users["rita"]).get("/api/v1/inbox/").json()
    assert [row["title"] for row in rita["results"]] == ["second", "first"]  # newest first
    assert rita["results"][0]["unread"] is True and rita["results"][0]["project"] == "alpha"
    assert api(world.users["alice"]).get("/api/v1/inbox/").json()["count"] == 1
    assert api(world.users["eve"]).get("/api/v1/inbox/").json()["count"] == 0


def test_mark_read_and_unread_counts(world, api):
    tell(world, "rita", title="first")
    tell(world, "rita", title="second")
    client = api(world.users["rita"])
    assert client.get("/api/v1/inbox/?unread=true").json()["count"] == 2
    item = InboxItem.objects.get(title="first")
    response = client.post(f"/api/v1/inbox/{item.pk}/read/")
    assert response.status_code == 200 and response.json()["unread"] is False
    assert client.get("/api/v1/inbox/?unread=true").json()["count"] == 1
    assert client.get("/api/v1/inbox/?unread=false").json()["count"] == 1
    first_read_at = InboxItem.objects.get(pk=item.pk).read_at
    client.post(f"/api/v1/inbox/{item.pk}/read/")  # again: nothing moves, nothing audited
    assert InboxItem.objects.get(pk=item.pk).read_at == first_read_at
    assert AuditEvent.objects.filter(action="inbox.read", object_id=str(item.pk)).count() == 1


def test_someone_elses_item_is_not_found(world, api):
    tell(world, "rita")
    item = InboxItem.objects.get()
    alice = api(world.users["alice"])
    assert alice.post(f"/api/v1/inbox/{item.pk}/read/").status_code == 404
    assert alice.get(f"/api/v1/inbox/{item.pk}/").status_code == 404
    assert InboxItem.objects.get().read_at is None


def test_read_all_marks_only_mine(world, api):
    tell(world, "rita", "alice")
    tell(world, "rita", "alice")
    response = api(world.users["rita"]).post("/api/v1/inbox/read-all/")
    assert response.status_code == 200 and response.json() == {"marked": 2}
    assert InboxItem.objects.filter(user=world.users["rita"], read_at=None).count() == 0
    assert InboxItem.objects.filter(user=world.users["alice"], read_at=None).count() == 2
    assert api(world.users["rita"]).post("/api/v1/inbox/read-all/").json() == {"marked": 0}
    assert AuditEvent.objects.filter(action="inbox.read_all").count() == 1


def test_anonymous_gets_no_inbox(world, api):
    assert api().get("/api/v1/inbox/").status_code in (401, 403)
