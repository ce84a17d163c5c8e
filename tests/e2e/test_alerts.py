"""A contributor sees the Monitoring badge, opens /alerts/, finds the drift alert a report
opened, and acknowledges it: the row moves to Acknowledged and the badge goes away."""

# Fixtures are imported from other test modules and requested by name.
# ruff: noqa: F811

from __future__ import annotations

import os

import pytest

from apps.monitoring.models import RuleKind
from tests.conftest import PASSWORD
from tests.deployments.conftest import deployment_factory  # noqa: F401
from tests.monitoring.test_alerts_evaluate import add_rule, evaluate, make_report, watched  # noqa: F401
from tests.registry.conftest import model_version_factory  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], name), full_page=True)


def test_see_an_alert_and_acknowledge_it(world, watched, live_server, page):
    from playwright.sync_api import expect

    add_rule(watched, RuleKind.FEATURE_DRIFTED, feature="x1")
    [alert] = evaluate(make_report(watched))

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "carl")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("[data-badge=monitoring]")).to_have_text("1")

    page.goto(live_server.url + "/alerts/")
    row = page.locator(f"tr[data-alert='{alert.pk}']")
    expect(row).to_contain_text("churn-production")
    expect(row).to_contain_text("feature 'x1' drifted")
    expect(row.locator(".badge")).to_have_text("Open")
    shot(page, "alerts.png")

    row.locator("button.acknowledge").click()
    expect(page.locator(".flash.success")).to_contain_text(f"Acknowledged alert #{alert.pk}")
    expect(page.locator(f"tr[data-alert='{alert.pk}']")).to_have_count(0)  # left the Open tab
    expect(page.locator("[data-badge=monitoring]")).to_have_count(0)

    page.click("[data-tab=acknowledged]")
    row = page.locator(f"tr[data-alert='{alert.pk}']")
    expect(row.locator(".badge")).to_have_text("Acknowledged")
    expect(row).to_contain_text("by carl")
    expect(row.locator("button.acknowledge")).to_have_count(0)
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == world.users["carl"]
