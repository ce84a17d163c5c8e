import re

import pytest

from apps.core.services.jobs import job_create
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NAV = [
    ("Datasets", "/datasets/", "Datasets"),
    ("Experiments", "/experiments/", "Experiments"),
    ("Models", "/models/", "Models"),
    ("Deployments", "/deployments/", "Deployments"),
    ("Monitoring", "/monitoring/", "Monitoring"),
    ("Audit", "/audit/", "Audit trail"),
    ("Dashboard", "/", "Dashboard"),
]


def test_sign_in_walk_the_navigation_and_sign_out(world, live_server, page, tmp_path):
    from playwright.sync_api import expect

    job_create(project=world.alpha, kind="core.diagnostic.default", actor=world.users["alice"])
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))

    page.fill("#id_username", "alice")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("did not match")

    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("main")).to_contain_text("Alpha")
    # htmx came from the portal itself and swapped the live jobs panel in.
    assert page.evaluate("typeof htmx") == "object"
    expect(page.locator("#jobs")).to_contain_text("core.diagnostic.default")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    for label, path, heading in NAV:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
        expect(page).to_have_url(live_server.url + path)
        expect(page.locator("h1")).to_have_text(heading)
        active = page.locator("nav.nav a[aria-current=page]")
        expect(active).to_have_text(label)

    page.goto(live_server.url + "/audit/")
    expect(page.locator("#audit-results")).to_contain_text("membership.add")
    page.fill("input[name=actor]", "nobody")
    page.locator("input[name=actor]").dispatch_event("change")
    expect(page.locator("#audit-results")).to_contain_text("No events match")
    expect(page).to_have_url(re.compile(r"actor=nobody"))  # htmx pushed the filter to the URL

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto(live_server.url + "/audit/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/audit/$"))


def test_admin_manages_members_and_checks_a_worker_queue(world, live_server, page, tmp_path):
    from playwright.sync_api import expect

    from apps.core.models import Membership

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="Alpha").click()
    expect(page.locator("h1")).to_contain_text("Alpha")

    page.fill("input[name=username]", "eve")
    page.select_option("select[name=role]:not([aria-label])", "contributor")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator(".flash")).to_contain_text("Added eve")
    row = page.locator("#members tr[data-username=eve]")
    expect(row.get_by_label("Role of eve")).to_have_value("contributor")

    row.get_by_label("Role of eve").select_option("reviewer")  # submits on change
    expect(page.locator(".flash")).to_contain_text("eve is now reviewer")
    assert Membership.objects.get(project=world.alpha, user__username="eve").role == "reviewer"

    page.get_by_role("button", name="Remove eve").click()
    expect(page.locator(".flash")).to_contain_text("Removed eve")
    expect(page.locator("#members tr[data-username=eve]")).to_have_count(0)

    page.get_by_role("button", name="gpu queue").click()
    expect(page.locator("#jobs")).to_contain_text("core.diagnostic.gpu")
    page.screenshot(path=str(tmp_path / "project.png"), full_page=True)
