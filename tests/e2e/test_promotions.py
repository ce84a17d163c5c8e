"""A reviewer sees the badge, opens the queue, reads the request (chart drawn, gates, lineage)
and approves it: the version is in staging."""

from __future__ import annotations

import pytest

from apps.registry.models import ModelVersion
from apps.registry.services.promotions import promotion_request_create
from tests.conftest import PASSWORD
from tests.registry.conftest import model_version_factory  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reviewer_approves_from_the_queue(
    world,
    live_server,
    page,
    tmp_path,
    model_version_factory,  # noqa: F811
):
    from playwright.sync_api import expect

    model_version_factory(stage="staging", metrics={"accuracy": 0.88, "f1": 0.8})
    candidate = model_version_factory(metrics={"accuracy": 0.9, "f1": 0.84})
    request = promotion_request_create(
        actor=world.users["carl"], model_version=candidate, target="staging",
        justification="Higher accuracy and f1 on the holdout set.",
    )  # fmt: skip

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "rita")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server.url + "/reviews/")
    expect(page.locator("#to-review tbody tr")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "reviews.png"), full_page=True)
    page.click(f'#to-review a[href="/promotions/{request.pk}/"]')
    expect(page.locator("#promotion-chart .main-svg").first).to_be_visible()
    expect(page.locator("tr[data-gate]")).to_have_count(5)
    page.screenshot(path=str(tmp_path / "promotion.png"), full_page=True)
    page.fill("#review-comment", "Good to go")
    page.click("#decide button.primary")
    expect(page.locator("#request-status")).to_have_text("approved")
    assert ModelVersion.objects.get(pk=candidate.pk).stage == "staging"
