"""An admin adds a webhook from the project page, sees its secret once, sends a test event and
reads the attempt; then works through their inbox."""

from __future__ import annotations

import os

import pytest

from apps.notifications.delivery import webhook_deliver
from apps.notifications.models import WebhookDelivery
from apps.notifications.services import notify
from tests.conftest import PASSWORD
from tests.notifications.conftest import receiver  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], name), full_page=True)


def test_add_a_webhook_send_a_test_and_read_the_inbox(world, live_server, page, receiver):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server.url + "/projects/alpha/")
    page.click("text=Webhooks of this project")
    expect(page.locator("h1")).to_have_text("Webhooks")
    page.fill("#id_url", receiver.url)
    page.check("input[name=events][value='promotion.approved']")
    shot(page, "webhooks.png")
    page.click("text=Add webhook")
    expect(page.locator("#new-secret code")).to_have_count(1)
    secret = page.locator("#new-secret code").inner_text()
    assert len(secret) >= 32

    page.click("#send-test")
    expect(page.locator(".flash.success")).to_contain_text("Sent a test event")
    delivery = WebhookDelivery.objects.get()
    # No worker in this test: deliver in-process, as a worker would.
    assert webhook_deliver(delivery_id=delivery.pk).status == "succeeded"
    page.reload()
    row = page.locator(f"tr[data-delivery='{delivery.pk}']")
    expect(row).to_contain_text("HTTP 200")
    expect(row).to_contain_text("Succeeded")
    assert secret not in page.content()
    shot(page, "webhook.png")

    for version in (1, 2, 3):
        notify(
            event="promotion.requested", project=world.alpha, payload={},
            title=f"carl asks to promote churn v{version} to staging",
            users=[world.users["alice"]], url="/projects/alpha/",
        )  # fmt: skip
    page.goto(live_server.url + "/inbox/")
    expect(page.locator("[data-badge=inbox]")).to_have_text("3")
    expect(page.locator("tr.unread strong").first).to_have_text(
        "carl asks to promote churn v3 to staging"
    )
    shot(page, "inbox.png")
    page.locator("tr.unread a").first.click()
    expect(page.locator("h1")).to_contain_text("Alpha")
    page.goto(live_server.url + "/inbox/")
    expect(page.locator("tr.unread")).to_have_count(2)
    page.click("#read-all")
    expect(page.locator("tr.unread")).to_have_count(0)
    expect(page.locator("[data-badge=inbox]")).to_have_count(0)
