"""A viewer opens the monitoring overview, then a deployment's monitoring page: the drift heatmap
and the other charts are drawn by Plotly from the page's data, and the latest Evidently report
renders inside its sandboxed iframe (its own scripts ran there) without a single request leaving
the portal."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

from apps.monitoring.models import Alert, AlertRule, DriftReport, ReportStatus
from tests.conftest import PASSWORD
from tests.monitoring.conftest import (  # noqa: F401
    deployment_factory,
    feature_rows,
    model_version_factory,
    monitored,
    ready_version,
)
from workers.drift.report import run_drift

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def stored_reports(monitor, artifact_root) -> DriftReport:
    """Eight hourly runs, the last five drifting more and more, one without enough rows, and
    the newest with a real Evidently HTML report of a shifted window."""
    reference = pd.DataFrame(feature_rows(300, seed=1))
    now = timezone.now()
    latest = None
    for i in range(8):
        shift = max(0, i - 3) * 0.4
        at = now - timedelta(hours=8 - i)
        if i == 4:
            report = DriftReport.objects.create(
                monitor=monitor, status=ReportStatus.INSUFFICIENT_DATA, rows_reference=190,
                rows_current=12,
            )  # fmt: skip
            DriftReport.objects.filter(pk=report.pk).update(created_at=at)
            continue
        current = pd.DataFrame(feature_rows(300, seed=10 + i, shift=shift))
        html_path = f"drift/{monitor.pk}/{i}.html"
        path = artifact_root / html_path
        path.parent.mkdir(parents=True, exist_ok=True)
        summary = run_drift(reference, current, min_rows=50,
                            html_path=str(path) if i == 7 else None)  # fmt: skip
        yes = int((current["x1"] > shift).sum())
        report = DriftReport.objects.create(
            monitor=monitor, status=ReportStatus.OK, rows_reference=summary.rows_reference,
            rows_current=summary.rows_current, dataset_drift=summary.dataset_drift,
            drift_share=summary.drift_share, drifted_columns=summary.drifted_columns,
            columns=summary.as_dict()["columns"],
            predictions={"kind": "classes", "counts": {"yes": yes, "no": 300 - yes}},
            performance={
                "reference": {"rows_labelled": 60, "accuracy": 0.9},
                "current": {"rows_labelled": 40, "accuracy": 0.9 - 0.08 * max(0, i - 3)},
            } if i >= 2 else None,
            html_path=html_path if i == 7 else "",
        )  # fmt: skip
        DriftReport.objects.filter(pk=report.pk).update(created_at=at, finished_at=at)
        latest = report
    return latest


def test_monitoring_page_draws_the_heatmap_and_embeds_the_report(
    world,
    live_server,
    page,
    tmp_path,
    artifact_root,
    monitored,  # noqa: F811
):
    from playwright.sync_api import expect

    monitor = monitored.monitor
    latest = stored_reports(monitor, artifact_root)
    rule = AlertRule.objects.create(monitor=monitor, kind="dataset_drift")
    Alert.objects.create(project=world.alpha, monitor=monitor, rule=rule, kind="dataset_drift",
                         message="Dataset drift", opened_at=timezone.now())  # fmt: skip

    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "vera")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Monitoring").click()
    row = page.locator('tr[data-deployment="churn-production"]')
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "ok")
    expect(row.locator(".alerts-open")).to_have_text("1")
    page.screenshot(path=str(tmp_path / "monitoring-index.png"), full_page=True)

    row.get_by_role("link", name="churn-production").click()
    expect(page.locator("h1")).to_have_text("churn-production")
    heatmap = page.locator("#chart-heatmap")
    expect(heatmap.locator(".main-svg").first).to_be_visible()
    expect(heatmap.locator(".hm")).to_have_count(1)  # Plotly's heatmap trace layer
    assert page.evaluate("document.getElementById('chart-heatmap').data[0].type") == "heatmap"
    assert page.evaluate("document.getElementById('chart-heatmap').data[0].x.length") == 7
    for chart in ("share", "performance", "predictions"):
        expect(page.locator(f"#chart-{chart} .main-svg").first).to_be_visible()
    # The insufficient-data run is a marker of its own, not a drift share of 0.
    share_traces = page.evaluate("document.getElementById('chart-share').data.map(t => t.name)")
    assert "insufficient data (no verdict)" in share_traces

    iframe = page.locator("#evidently-report")
    expect(iframe).to_have_attribute("sandbox", "allow-scripts")
    expect(iframe).to_have_attribute("src", f"/monitoring/reports/{latest.pk}/report.html")
    iframe.scroll_into_view_if_needed()
    report = page.frame_locator("#evidently-report")
    # The root div is empty in the file: anything inside it was rendered by the report's JS.
    expect(report.locator("[id^=root_metric] *").first).to_be_attached(timeout=20_000)
    expect(report.get_by_text("Dataset Drift is detected").first).to_be_visible(timeout=20_000)
    expect(report.get_by_role("tab", name="Metrics")).to_be_visible()
    expect(page.locator("#latest-columns tbody tr")).to_have_count(4)
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "monitoring-deployment.png"), full_page=True)

    outside = [url for url in requests if not url.startswith((live_server.url, "data:"))]
    assert outside == []
    assert not [p for p in problems if "Content Security Policy" in p], problems
