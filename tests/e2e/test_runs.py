"""A viewer finds an externally logged MLflow run in the runs table, sorts by a metric, ticks two
runs and compares them: curves drawn, differing parameters highlighted."""

from __future__ import annotations

import os

import mlflow
import pytest
from django.conf import settings

from apps.experiments.services.runs import runs_sync
from tests.conftest import PASSWORD
from tests.experiments.test_runs import log_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sort_tick_and_compare_runs(world, live_server, page, tmp_path):
    from playwright.sync_api import expect

    store = mlflow.MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI)
    for name, lr, acc in (("slow", 0.001, 0.71), ("fast", 0.1, 0.93), ("mid", 0.01, 0.85)):
        log_run(
            store, "alpha/notebook", name=name, params={"lr": lr, "layers": 2},
            metrics={"accuracy": acc, "loss": 1 - acc}, steps=5,
        )  # fmt: skip
    runs_sync()

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "vera")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server.url + "/runs/")
    expect(page.locator("tr[data-run]")).to_have_count(3)
    expect(page.locator("tr[data-run] .badge", has_text="external")).to_have_count(3)

    page.click('th a[data-metric="accuracy"]')  # highest first
    expect(page.locator("tr[data-run] td:nth-child(2) strong").first).to_have_text("fast")
    names = page.locator("tr[data-run] td:nth-child(2) strong").all_inner_texts()
    assert names == ["fast", "mid", "slow"]
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], "runs.png"), full_page=True)
    page.click('th a[data-metric="accuracy"]')  # and reversed
    expect(page.locator("tr[data-run] td:nth-child(2) strong").first).to_have_text("slow")

    page.locator("tr[data-run]", has_text="fast").locator("input[type=checkbox]").check()
    page.locator("tr[data-run]", has_text="slow").locator("input[type=checkbox]").check()
    page.click("#compare-button")
    expect(page.locator("h1")).to_have_text("Compare 2 runs")
    expect(page.locator("#run-charts figure.chart")).to_have_count(2)  # accuracy and loss
    expect(page.locator("#run-charts figure .plot .main-svg").first).to_be_visible()
    expect(page.locator('tr.differs[data-param="lr"]')).to_have_count(1)
    expect(page.locator('tr[data-param="layers"]:not(.differs)')).to_have_count(1)
    if os.environ.get("SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOTS"], "compare.png"), full_page=True)
