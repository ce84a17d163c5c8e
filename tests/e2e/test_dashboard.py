"""A reviewer signs in and lands on the dashboard: the counts, the hourly sparklines of every
live deployment and the spend-against-budget chart are drawn in the page by the portal's own
Plotly; the project switcher narrows the page to one project."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import Job, JobStatus
from apps.costs.models import Budget
from apps.experiments.models import TrainingJob
from apps.monitoring.models import Alert, AlertRule, Monitor
from apps.registry.models import PromotionRequest, Stage
from tests.conftest import PASSWORD
from tests.monitoring.conftest import (  # noqa: F401
    deployment_factory,
    feature_rows,
    log_predictions,
    model_version_factory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _hour(hours_ago: int):
    top = timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return top - timedelta(hours=hours_ago) + timedelta(minutes=30)


def _sign_in(page, live_server, username: str) -> None:
    from playwright.sync_api import expect

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")


def test_the_dashboard_draws_counts_sparklines_and_spend(
    world,
    live_server,
    page,
    tmp_path,
    model_version_factory,  # noqa: F811
    deployment_factory,  # noqa: F811
):
    from playwright.sync_api import expect

    Job.objects.create(project=world.alpha, kind="training.train", status=JobStatus.RUNNING,
                       progress=0.4, message="epoch 4/10")  # fmt: skip
    for i, name in enumerate(("churn", "fraud")):
        version = model_version_factory(name=name, stage=Stage.STAGING)
        TrainingJob.objects.filter(pk=version.training_job_id).update(cost=Decimal("41.25"))
        deployment, _ = deployment_factory(stable=version, slug=f"{name}-staging")
        for hours_ago in (1, 3, 4, 7, 12, 20):
            log_predictions(
                deployment, feature_rows(10 + 5 * hours_ago + i), at=_hour(hours_ago),
                errors=1 if hours_ago in (3, 12) else 0,
            )  # fmt: skip
    Budget.objects.create(project=world.alpha, amount=Decimal("100"), currency="EUR")
    request = PromotionRequest.objects.create(
        model_version=model_version_factory(name="churn"), target="staging", justification="ok",
        requested_by=world.users["carl"], approvals_required=1,
        expires_at=timezone.now() + timedelta(days=7),
    )  # fmt: skip
    monitor = Monitor.objects.create(project=world.alpha, deployment=deployment, schedule_minutes=0)
    rule = AlertRule.objects.create(monitor=monitor, kind="error_rate_above", threshold=0.01)
    Alert.objects.create(
        project=world.alpha, monitor=monitor, rule=rule, kind=rule.kind, value=0.02,
        message="Error rate 2.0% is above 1.0%", opened_at=timezone.now(),
    )  # fmt: skip

    _sign_in(page, live_server, "rita")
    counts = page.get_by_role("region", name="Counts")
    expect(counts.locator('[data-count="live_deployments"] .value')).to_have_text("2")
    expect(counts.locator('[data-count="models"] .value')).to_have_text("2")
    expect(counts.locator('[data-count="jobs_running"] .value')).to_have_text("1")
    expect(counts.locator('[data-count="open_alerts"] .value')).to_have_text("1")
    expect(counts.locator('[data-count="reviews"] .value')).to_have_text("1")
    expect(page.locator("#open-alerts")).to_contain_text("Error rate 2.0% is above 1.0%")
    expect(
        page.locator("#my-reviews").get_by_role("link", name=f"#{request.pk}")
    ).to_have_attribute("href", f"/promotions/{request.pk}/")
    expect(page.locator("#jobs")).to_contain_text("epoch 4/10")

    sparklines = page.locator(".sparkline")
    expect(sparklines).to_have_count(4)
    for i in range(4):
        expect(sparklines.nth(i).locator("svg.main-svg").first).to_be_attached()
    # Plotly drew the hourly points: a path with data in the requests line.
    expect(
        page.locator('.sparkline[data-slug="churn-staging"][data-series="requests"] path.js-line')
    ).to_have_count(1)

    spend = page.locator("#spend-chart")
    expect(spend.locator("svg.main-svg").first).to_be_attached()
    expect(spend.locator(".bars path")).to_have_count(2)  # the budget bar and the spend bar
    expect(page.locator("#spend")).to_contain_text("82.50 EUR")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    # The switcher narrows the page to one project; the URL says which.
    page.select_option("#dashboard-project", "alpha")
    expect(page).to_have_url(re.compile(r"/\?project=alpha$"))
    expect(page.locator(".scope-line")).to_contain_text("Alpha")
    expect(page.locator(".sparkline svg.main-svg").first).to_be_attached()
    page.screenshot(path=str(tmp_path / "dashboard-alpha.png"), full_page=True)

    # A deployment's name leads to its page.
    page.locator("#live-deployments").get_by_role("link", name="fraud-staging").click()
    expect(page).to_have_url(re.compile(r"/deployments/fraud-staging/$"))


def test_a_project_without_spend_shows_the_empty_state(world, live_server, page, tmp_path):
    from playwright.sync_api import expect

    _sign_in(page, live_server, "eve")
    expect(page.locator('[data-spend="empty"]')).to_be_visible()
    expect(page.locator("#live-deployments")).to_contain_text("No live deployments")
    page.screenshot(path=str(tmp_path / "dashboard-empty.png"), full_page=True)
