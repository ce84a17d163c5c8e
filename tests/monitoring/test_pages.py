"""Monitoring pages: the overview, a deployment's charts and embedded Evidently report, the
report file's headers, scoping (strangers 404), empty states, query counts, Run now."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.monitoring.models import Alert, AlertRule, DriftReport, Monitor, ReportStatus
from apps.monitoring.selectors.charts import chart_series, drift_strength
from apps.registry.models import Stage
from workers.drift.report import run_drift

pytestmark = pytest.mark.django_db

COLUMNS = [
    {"column": "x1", "test": "K-S p_value", "score": 1e-12, "threshold": 0.05, "drifted": True},
    {"column": "x2", "test": "K-S p_value", "score": 0.61, "threshold": 0.05, "drifted": False},
    {"column": "colour", "test": "Jensen-Shannon distance", "score": 0.31, "threshold": 0.1,
     "drifted": True},
    {"column": "amount", "test": "Wasserstein distance (normed)", "score": 0.02,
     "threshold": 0.1, "drifted": False},
]  # fmt: skip


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def evidently_html(artifact_root: Path, name: str = "drift/report.html") -> str:
    """A real Evidently report on small frames, stored under ARTIFACT_ROOT; returns its
    relative path as the drift job stores it."""
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x1": rng.normal(size=120), "colour": rng.choice(["r", "g"], 120)})
    current = pd.DataFrame({"x1": rng.normal(size=120) + 2, "colour": ["g"] * 120})
    path = artifact_root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    run_drift(reference, current, min_rows=50, html_path=str(path))
    return name


def make_report(monitor: Monitor, *, hours_ago: float, status: str = ReportStatus.OK,
                columns=None, html_path: str = "", performance=None, predictions=None,
                **fields) -> DriftReport:  # fmt: skip
    columns = COLUMNS if columns is None and status == ReportStatus.OK else (columns or [])
    drifted = sum(c["drifted"] for c in columns)
    values = {
        "rows_reference": 190,
        "rows_current": 300 if status == ReportStatus.OK else 7,
        "columns": columns,
        "drifted_columns": drifted,
        "performance": performance,
        "predictions": predictions or {},
        "html_path": html_path,
    }
    if status == ReportStatus.OK:
        share = drifted / len(columns)
        values.update(drift_share=share, dataset_drift=share >= monitor.drift_share)
    values.update(fields)
    report = DriftReport.objects.create(monitor=monitor, status=status, **values)
    at = timezone.now() - timedelta(hours=hours_ago)
    DriftReport.objects.filter(pk=report.pk).update(created_at=at, finished_at=at)
    report.created_at = at
    return report


# -- the overview ---------------------------------------------------------------------------


def test_overview_lists_monitors_with_latest_status_and_open_alerts(
    world, monitored, deployment_factory, model_version_factory
):
    monitor = monitored.monitor
    make_report(monitor, hours_ago=2)
    make_report(monitor, hours_ago=1, status=ReportStatus.INSUFFICIENT_DATA)
    rule = AlertRule.objects.create(monitor=monitor, kind="dataset_drift")
    Alert.objects.create(project=world.alpha, monitor=monitor, rule=rule, kind="dataset_drift",
                         message="drift", opened_at=timezone.now())  # fmt: skip
    other = model_version_factory(name="fraud", stage=Stage.STAGING)
    deployment_factory(stable=other, slug="fraud-staging")

    response = client_for(world.users["vera"]).get("/monitoring/")
    assert response.status_code == 200
    html = response.content.decode()
    row = re.search(r'<tr data-deployment="churn-production" data-monitor="\d+">.*?</tr>', html,
                    re.S).group(0)  # fmt: skip
    assert 'data-status="insufficient_data"' in row  # the latest run, not the last verdict
    assert 'class="alerts-open">1<' in row
    assert "/monitoring/churn-production/" in row
    unmonitored = re.search(r'<tr data-deployment="fraud-staging" class="unmonitored">.*?</tr>',
                            html, re.S).group(0)  # fmt: skip
    assert "no monitor" in unmonitored
    assert 'href="/alerts/"' in html
    # Monitored deployments come first.
    assert html.index('data-deployment="churn-production"') < html.index(
        'data-deployment="fraud-staging"'
    )
    assert b"churn-production" not in client_for(world.users["eve"]).get("/monitoring/").content
    assert Client().get("/monitoring/").status_code == 302


def test_overview_shows_drift_share_of_an_ok_run(world, monitored):
    make_report(monitored.monitor, hours_ago=1)
    html = client_for(world.users["vera"]).get("/monitoring/").content.decode()
    row = re.search(r'<tr data-deployment="churn-production".*?</tr>', html, re.S).group(0)
    assert 'data-status="ok"' in row and "drift-yes" in row and "50%" in row


def test_overview_query_count_does_not_grow_with_deployments(
    world, monitored, deployment_factory, model_version_factory
):
    client = client_for(world.users["vera"])
    make_report(monitored.monitor, hours_ago=1)
    client.get("/monitoring/")  # warm per-process caches (content types, sessions)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/monitoring/").status_code == 200
    for i in range(4):
        version = model_version_factory(name=f"m{i}", stage=Stage.STAGING)
        deployment, _ = deployment_factory(stable=version, slug=f"m{i}-staging")
        for name in ("a", "b"):
            monitor = Monitor.objects.create(project=world.alpha, deployment=deployment, name=name)
            make_report(monitor, hours_ago=1)
            rule = AlertRule.objects.create(monitor=monitor, kind="dataset_drift")
            Alert.objects.create(
                project=world.alpha, monitor=monitor, rule=rule, kind="dataset_drift",
                message="m", opened_at=timezone.now(),
            )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        html = client.get("/monitoring/").content.decode()
    assert html.count("data-monitor=") == 9
    assert len(many.captured_queries) == len(one.captured_queries)


def test_overview_empty_state_and_filter(world, monitored):
    vera = client_for(world.users["vera"])
    assert b"churn-production" in vera.get("/monitoring/?project=alpha").content
    assert b"No deployments in this project" in vera.get("/monitoring/?project=beta").content
    assert vera.get("/monitoring/?project=a%00b").status_code == 200
    html = client_for(world.users["eve"]).get("/monitoring/").content.decode()
    assert "Nothing deployed yet" in html and "/api/v1/monitors/" in html


# -- a deployment's page --------------------------------------------------------------------


def test_deployment_page_draws_series_and_embeds_the_latest_report(world, monitored, artifact_root):
    monitor = monitored.monitor
    html_path = evidently_html(artifact_root)
    make_report(monitor, hours_ago=3, performance={
        "reference": {"rows_labelled": 40, "accuracy": 0.9},
        "current": {"rows_labelled": 30, "accuracy": 0.7},
    }, predictions={"kind": "classes", "counts": {"yes": 200, "no": 100}})  # fmt: skip
    latest = make_report(monitor, hours_ago=2, html_path=html_path)
    make_report(monitor, hours_ago=1, status=ReportStatus.INSUFFICIENT_DATA)

    response = client_for(world.users["vera"]).get("/monitoring/churn-production/")
    assert response.status_code == 200
    html = response.content.decode()
    series = json.loads(re.search(r'<script id="monitoring-series" type="application/json">'
                                  r"(.*?)</script>", html, re.S).group(1))  # fmt: skip
    assert series["heatmap"]["y"] == ["x1", "x2", "colour", "amount"]
    assert len(series["heatmap"]["x"]) == 2  # the insufficient run has no columns to show
    assert series["share"]["threshold"] == 0.5
    assert series["share"]["y"] == [0.5, 0.5, None]  # no verdict is a gap, not 0
    assert len(series["share"]["insufficient"]["x"]) == 1
    assert series["performance"]["current"] == [0.7]
    assert series["predictions"]["kind"] == "classes"
    # The latest finished report is embedded sandboxed, without its own origin.
    iframe = re.search(r"<iframe[^>]*>", html).group(0)
    assert f'src="/monitoring/reports/{latest.pk}/report.html"' in iframe
    assert 'sandbox="allow-scripts"' in iframe and "allow-same-origin" not in iframe
    table = re.search(r'<table class="drift-columns".*?</table>', html, re.S).group(0)
    assert table.index('data-column="x1"') < table.index('data-column="x2"')  # drifted first
    assert "1e-12" in table and "K-S p_value" in table and "Jensen-Shannon distance" in table
    assert "vendor/plotly/plotly.min.js" in html and "js/monitoring.js" in html
    assert "the last 24 hours" in html and "on demand only" in html
    assert "training split of" in html  # the default reference, named
    assert 'id="run-now"' not in html  # viewers cannot run
    assert (
        'id="run-now"'
        in client_for(world.users["carl"]).get("/monitoring/churn-production/").content.decode()
    )


def test_deployment_page_is_scoped(world, monitored):
    assert client_for(world.users["eve"]).get("/monitoring/churn-production/").status_code == 404
    vera = client_for(world.users["vera"])
    assert vera.get("/monitoring/nope/").status_code == 404
    second = Monitor.objects.create(project=world.alpha, deployment=monitored.deployment,
                                     name="second")  # fmt: skip
    assert vera.get(f"/monitoring/churn-production/?monitor={second.pk}").status_code == 200
    assert vera.get("/monitoring/churn-production/?monitor=999999").status_code == 404
    for junk in ("abc", "²", "-1", "9" * 30):  # not an id: the default monitor, never a 500
        response = vera.get(f"/monitoring/churn-production/?monitor={junk}&n={junk}")
        assert response.status_code == 200
    assert Client().get("/monitoring/churn-production/").status_code == 302


def test_monitor_picker_chooses_among_monitors(world, monitored):
    second = Monitor.objects.create(project=world.alpha, deployment=monitored.deployment,
                                    name="hourly", window_predictions=500)  # fmt: skip
    vera = client_for(world.users["vera"])
    default = vera.get("/monitoring/churn-production/").content.decode()
    assert "Monitor <em>drift</em>" in default  # ordered by name: the first
    picked = vera.get(f"/monitoring/churn-production/?monitor={second.pk}").content.decode()
    assert "Monitor <em>hourly</em>" in picked and "the last 500 predictions" in picked
    assert 'class="monitor-tabs"' in picked


def test_empty_states(world, monitored, deployment_factory, model_version_factory):
    vera = client_for(world.users["vera"])
    html = vera.get("/monitoring/churn-production/").content.decode()
    assert 'id="no-reports"' in html and 'id="no-finished-report"' in html
    assert "monitoring-series" not in html and "<iframe" not in html

    make_report(monitored.monitor, hours_ago=1)  # a verdict, but no labels and no HTML
    html = vera.get("/monitoring/churn-production/").content.decode()
    assert 'id="no-labels"' in html and "/api/v1/predictions/feedback/" in html

    version = model_version_factory(name="fraud", stage=Stage.STAGING)
    deployment_factory(stable=version, slug="fraud-staging")
    html = vera.get("/monitoring/fraud-staging/").content.decode()
    assert 'id="no-monitor"' in html and "POST /api/v1/monitors/" in html


def test_deployment_page_query_count_does_not_grow_with_reports(world, monitored, artifact_root):
    client = client_for(world.users["vera"])
    monitor = monitored.monitor
    make_report(monitor, hours_ago=100, html_path=evidently_html(artifact_root))
    client.get("/monitoring/churn-production/")
    with CaptureQueriesContext(connection) as one:
        assert client.get("/monitoring/churn-production/").status_code == 200
    for i in range(30):
        status = ReportStatus.INSUFFICIENT_DATA if i % 5 == 0 else ReportStatus.OK
        make_report(monitor, hours_ago=50 - i, status=status)
    with CaptureQueriesContext(connection) as many:
        html = client.get("/monitoring/churn-production/").content.decode()
    assert "Last 31 runs" in html
    assert len(many.captured_queries) == len(one.captured_queries)


def test_chart_window_size_follows_n(world, monitored):
    for i in range(6):
        make_report(monitored.monitor, hours_ago=10 - i)
    html = client_for(world.users["vera"]).get("/monitoring/churn-production/?n=4").content
    assert b"Last 4 runs" in html


# -- the report file ------------------------------------------------------------------------


def test_report_html_is_served_sandboxed(world, monitored, artifact_root):
    report = make_report(monitored.monitor, hours_ago=1, html_path=evidently_html(artifact_root))
    url = f"/monitoring/reports/{report.pk}/report.html"
    response = client_for(world.users["vera"]).get(url)
    assert response.status_code == 200
    assert response.streaming  # a FileResponse, not the file read into memory
    body = b"".join(response.streaming_content)
    assert body == (artifact_root / report.html_path).read_bytes()
    assert response["Content-Type"] == "text/html; charset=utf-8"
    csp = response["Content-Security-Policy"]
    assert "sandbox allow-scripts" in csp and "allow-same-origin" not in csp
    assert "default-src 'none'" in csp and "connect-src" not in csp
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_report_html_is_scoped_and_missing_files_404(world, monitored, artifact_root):
    report = make_report(monitored.monitor, hours_ago=1, html_path=evidently_html(artifact_root))
    url = f"/monitoring/reports/{report.pk}/report.html"
    assert client_for(world.users["eve"]).get(url).status_code == 404
    assert Client().get(url).status_code == 302
    vera = client_for(world.users["vera"])
    no_file = make_report(monitored.monitor, hours_ago=1)
    assert vera.get(f"/monitoring/reports/{no_file.pk}/report.html").status_code == 404
    gone = make_report(monitored.monitor, hours_ago=1, html_path="drift/gone.html")
    assert vera.get(f"/monitoring/reports/{gone.pk}/report.html").status_code == 404
    outside = artifact_root.parent / "secret.html"
    outside.write_text("<p>not a report</p>")
    escape = make_report(monitored.monitor, hours_ago=1, html_path="../secret.html")
    assert vera.get(f"/monitoring/reports/{escape.pk}/report.html").status_code == 404
    assert vera.get("/monitoring/reports/999999/report.html").status_code == 404


def test_the_quality_report_of_a_labelled_window_is_served_with_the_same_guards(
    world, monitored, artifact_root
):
    html_path = evidently_html(artifact_root)
    labelled = make_report(
        monitored.monitor, hours_ago=1, html_path=html_path,
        performance={"reference": {}, "current": {"accuracy": 0.8}, "html_path": html_path},
    )  # fmt: skip
    url = f"/monitoring/reports/{labelled.pk}/performance.html"
    response = client_for(world.users["vera"]).get(url)
    assert response.status_code == 200
    assert "sandbox allow-scripts" in response["Content-Security-Policy"]
    page = client_for(world.users["vera"]).get("/monitoring/churn-production/").content.decode()
    assert f'href="{url}"' in page
    assert client_for(world.users["eve"]).get(url).status_code == 404
    unlabelled = make_report(monitored.monitor, hours_ago=1, html_path=html_path)
    vera = client_for(world.users["vera"])
    assert vera.get(f"/monitoring/reports/{unlabelled.pk}/performance.html").status_code == 404


def test_the_evidently_report_loads_nothing_from_the_network(artifact_root):
    html = (artifact_root / evidently_html(artifact_root)).read_text()
    # Scripts and styles are inline; nothing is fetched by markup or CSS.
    assert re.findall(r"<script[^>]*\bsrc\s*=", html) == []
    assert re.findall(r"<(?:link|img|iframe|embed|object|source)\b[^>]*(?:src|href)\s*=\s*"
                      r"[\"']?(?:https?:)?//", html) == []  # fmt: skip
    assert re.findall(r"@import\s+(?:url\()?[\"']", html) == []  # the CSS-in-JS keyword only
    assert re.findall(r"url\(\s*[\"']?(?:https?:)?//", html) == []
    # What URLs the bundle carries are documentation links in error messages and plotly.js's
    # geo topojson base (unused by these charts, and refused anyway by the CSP).
    hosts = set(re.findall(r"https?://([a-z0-9.-]+)", html))
    assert hosts <= {
        "www.w3.org", "plotly.com", "cdn.plot.ly", "redux.js.org", "reactjs.org", "mui.com",
        "github.com", "fb.me",
    }, hosts  # fmt: skip


# -- Run now --------------------------------------------------------------------------------


def test_run_now_needs_a_contributor_and_queues_a_pending_report(world, monitored):
    url = "/monitoring/churn-production/run/"
    body = {"monitor": monitored.monitor.pk}
    assert client_for(world.users["vera"]).post(url, body).status_code == 403
    assert client_for(world.users["eve"]).post(url, body).status_code == 404
    assert client_for(world.users["carl"]).get(url).status_code == 405
    assert not DriftReport.objects.exists()

    carl = client_for(world.users["carl"])
    response = carl.post(url, body)
    assert response.status_code == 302
    assert response["Location"] == f"/monitoring/churn-production/?monitor={monitored.monitor.pk}"
    report = DriftReport.objects.get()
    assert report.monitor_id == monitored.monitor.pk and report.trigger == "manual"
    assert report.status == ReportStatus.PENDING and report.job_id is not None
    page = carl.get(response["Location"]).content.decode()
    assert f"Drift run #{report.pk} queued." in page
    assert 'id="pending-note"' in page and f'data-report="{report.pk}"' in page


def test_run_now_refuses_a_monitor_of_another_deployment(world, monitored):
    response = client_for(world.users["carl"]).post(
        "/monitoring/churn-production/run/", {"monitor": "999999"}
    )
    assert response.status_code == 404
    assert not DriftReport.objects.exists()


# -- chart maths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "threshold", "drifted", "expected"),
    [
        (0.05, 0.05, False, 0.99),  # a p-value on its threshold is not drift (p < t drifts)
        (0.0025, 0.05, True, 2.0),  # p = t^2: twice as far past, in log terms
        (0.5, 0.05, False, pytest.approx(0.2314, abs=1e-3)),
        (1.0, 0.05, False, 0.0),
        (0.0, 0.05, True, 2.0),
        (0.1, 0.1, True, 1.0),  # a distance on its threshold is drift (d >= t drifts)
        (0.15, 0.1, True, pytest.approx(1.5)),
        (0.05, 0.1, False, 0.5),
        (9.0, 0.1, True, 2.0),  # capped
        (None, 0.05, True, None),
        (0.2, None, False, None),
    ],
)
def test_drift_strength_follows_each_tests_direction(score, threshold, drifted, expected):
    assert drift_strength(score, threshold, drifted) == expected


def test_heatmap_uses_strength_and_keeps_raw_scores_in_hover(world, monitored):
    report = make_report(monitored.monitor, hours_ago=1)
    heatmap = chart_series(monitor=monitored.monitor, reports=[report])["heatmap"]
    strengths = dict(zip(heatmap["y"], (row[0] for row in heatmap["z"]), strict=True))
    assert strengths["x1"] == 2.0 and strengths["colour"] == 2.0  # drifted: at or above 1
    assert strengths["x2"] < 1 and strengths["amount"] == pytest.approx(0.2)
    assert all((z >= 1) == c["drifted"] for c in COLUMNS for z in [strengths[c["column"]]])
    assert "K-S p_value: score 1e-12, threshold 0.05, drifted" in heatmap["text"][0][0]


def test_prediction_series_for_classes_and_histograms(world, monitored):
    monitor = monitored.monitor
    classes = [
        make_report(monitor, hours_ago=2, predictions={"kind": "classes", "counts": counts})
        for counts in ({"yes": 3, "no": 1}, {"no": 2, "maybe": 2})
    ]
    series = chart_series(monitor=monitor, reports=classes)["predictions"]
    shares = {c["label"]: c["share"] for c in series["classes"]}
    assert shares == {"yes": [0.75, 0.0], "no": [0.25, 0.5], "maybe": [0.0, 0.5]}

    histogram = make_report(monitor, hours_ago=0.5, predictions={
        "kind": "histogram", "edges": [0.0, 1.0, 3.0], "counts": [5, 7], "mean": 1.4,
    })  # fmt: skip
    series = chart_series(monitor=monitor, reports=[histogram])["predictions"]
    assert series["kind"] == "histogram" and series["mean"] == [1.4]
    assert series["latest"]["bins"] == [
        {"mid": 0.5, "width": 1.0, "count": 5},
        {"mid": 2.0, "width": 2.0, "count": 7},
    ]


def test_performance_series_picks_rmse_for_regression(world, monitored):
    report = make_report(monitored.monitor, hours_ago=1, performance={
        "reference": {"rows_labelled": 10, "rmse": 1.0, "mae": 0.8},
        "current": {"rows_labelled": 12, "rmse": 2.5, "mae": 2.0},
    })  # fmt: skip
    unlabelled = make_report(monitored.monitor, hours_ago=0.5, performance={
        "reference": {"rows_labelled": 10, "rmse": 1.0}, "current": {"rows_labelled": 0},
    })  # fmt: skip
    series = chart_series(monitor=monitored.monitor, reports=[report, unlabelled])
    assert series["performance"]["metric"] == "rmse"
    assert series["performance"]["current"] == [2.5] and series["performance"]["rows"] == [12]
