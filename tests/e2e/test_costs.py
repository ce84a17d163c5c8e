"""An admin opens Costs from the navigation, sees the charts drawn by Plotly, and sets the
project's monthly budget with the page's form."""

from __future__ import annotations

import pytest

from apps.costs.models import Budget
from tests.conftest import PASSWORD
from tests.costs.conftest import spend  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_open_costs_see_charts_and_set_a_budget(world, spend, live_server, page):  # noqa: F811
    from playwright.sync_api import expect

    spend("12.5")
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Costs").click()
    expect(page.locator("h1")).to_contain_text("Costs")
    expect(page.locator("#cost-total")).to_contain_text("12.50")
    # Plotly (served by the portal) drew the pie and the bars.
    expect(page.locator("#chart-kind .main-svg").first).to_be_visible()
    expect(page.locator("#chart-project .main-svg").first).to_be_visible()

    form = page.locator('form.budget-form[data-project="alpha"]')
    form.locator("input[name=amount]").fill("15")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("Budget of Alpha saved")
    expect(page.locator('#budgets tr[data-project="alpha"]')).to_contain_text("83%")
    assert Budget.objects.get(project=world.alpha).amount == 15
