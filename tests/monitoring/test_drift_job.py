"""The drift job on the real prediction log (PostgreSQL COPY), the real reference (the deployed
version's training split) and real Evidently; in-process runs through the job machinery, and
one run on a real Celery worker."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

from apps.core.models import AuditEvent, Job
from apps.core.services.jobs import job_run
from apps.datasets import storage
from apps.deployments.models import PredictionLog
from apps.monitoring.models import DriftReport, Monitor, ReportStatus
from apps.monitoring.selectors.window import current_window, load_window_orm
from apps.monitoring.services.drift import drift_run_request
from apps.monitoring.services.drift_inputs import clear_reference_cache
from apps.monitoring.tasks.drift import run_monitor
from tests.monitoring.conftest import feature_rows, log_predictions
from workers.drift.reference import training_split
from workers.drift.window import load_window

INPUTS = ["x1", "x2", "colour"]  # the model's signature inputs (not "amount")


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    # Every test uploads the same bytes (same content hash) into its own artifact store.
    clear_reference_cache()
    yield
    clear_reference_cache()


def run(monitored, world) -> DriftReport:
    """Request a run as carl and execute its job here, as a worker would."""
    report = drift_run_request(actor=world.users["carl"], monitor=monitored.monitor)
    job_run(job_id=report.job_id, worker="test")
    report.refresh_from_db()
    return report


def drifted_by_evidently(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[set, float]:
    """Evidently called directly: its own per-column verdicts and its DriftedColumnsCount."""
    definition = DataDefinition(numerical_columns=["x1", "x2"], categorical_columns=["colour"])
    snapshot = Report([DataDriftPreset(columns=INPUTS, drift_share=0.5)], include_tests=True).run(
        Dataset.from_pandas(current[INPUTS], data_definition=definition),
        Dataset.from_pandas(reference[INPUTS], data_definition=definition),
    )
    result = snapshot.dict()
    share = next(
        m["value"]["share"]
        for m in result["metrics"]
        if m["config"]["type"].endswith(":DriftedColumnsCount")
    )
    drifted = {
        t["metric_config"]["params"]["column"]
        for t in result["tests"]
        if t["id"] == "drift" and t["status"] == "FAIL"
    }
    return drifted, share


def test_results_agree_with_evidently_called_directly(world, monitored):
    rows = feature_rows(240, seed=0, shift=0.3)  # numbers move a little, colours do not
    log_predictions(monitored.deployment, rows)
    report = run(monitored, world)
    assert report.status == ReportStatus.OK, report.error

    path = storage.blob_path(monitored.dataset_version.content_hash)
    reference = training_split(path, "csv", "label", "classification", 0.2, 0, INPUTS)
    drifted, share = drifted_by_evidently(reference, pd.DataFrame(rows))

    stored = {c["column"] for c in report.columns if c["drifted"]}
    assert stored == drifted
    assert report.drift_share == pytest.approx(share)
    assert report.drifted_columns == len(drifted)
    assert report.dataset_drift is (share >= 0.5)
    assert {c["column"] for c in report.columns} == set(INPUTS)
    assert 0 < len(drifted) < 3, "a mixed case: some columns drift, some do not"
    assert report.rows_reference == len(reference) and report.rows_current == 240


def test_an_unshifted_window_does_not_drift_and_a_shifted_one_does(world, monitored):
    log_predictions(monitored.deployment, feature_rows(300, seed=1, shift=0))
    calm = run(monitored, world)
    assert calm.status == ReportStatus.OK, calm.error
    assert calm.dataset_drift is False, calm.columns

    PredictionLog.objects.all().delete()
    log_predictions(monitored.deployment, feature_rows(300, seed=2, shift=2))
    shifted = run(monitored, world)
    assert shifted.dataset_drift is True
    assert {c["column"] for c in shifted.columns if c["drifted"]} == set(INPUTS)
    assert shifted.drift_share == 1.0
    assert shifted.model_version_id == monitored.version.pk
    assert shifted.reference_dataset_version_id == monitored.dataset_version.pk
    assert shifted.duration_seconds > 0 and shifted.finished_at is not None
    assert shifted.job.status == "succeeded"
    assert AuditEvent.objects.filter(
        action="drift_report.complete", object_id=str(shifted.pk)
    ).exists()
    # The Evidently HTML is stored under ARTIFACT_ROOT, named after the report.
    assert shifted.html_path == f"drift-reports/{shifted.pk}.html"
    assert (Path(settings.ARTIFACT_ROOT) / shifted.html_path).stat().st_size > 10_000


def test_a_tiny_window_is_insufficient_data_not_no_drift(world, monitored):
    log_predictions(monitored.deployment, feature_rows(10, shift=3), errors=2)
    report = run(monitored, world)
    assert report.status == ReportStatus.INSUFFICIENT_DATA
    assert report.dataset_drift is None and report.drift_share is None
    assert report.rows_current == 10 and report.rows_reference > 100
    assert report.columns == [] and report.html_path == ""
    # Still recorded: what was served and how.
    assert report.ops["requests"] == 12 and report.ops["errors"] == 2
    assert report.predictions == {"kind": "classes", "counts": {"yes": 10}, "rows": 10}
    assert report.job.status == "succeeded"


def test_ops_error_rate_and_p95_latency_come_from_the_log(world, monitored):
    deployment = monitored.deployment
    log_predictions(deployment, feature_rows(90), latency_ms=10.0)
    log_predictions(deployment, feature_rows(8, seed=3), latency_ms=400.0, errors=3)
    log_predictions(deployment, feature_rows(2, seed=4), latency_ms=2000.0)
    # Neither a shadow copy nor a prediction older than the window counts.
    log_predictions(deployment, feature_rows(5, seed=6), latency_ms=9999.0,
                    at=timezone.now() - timedelta(hours=30))  # fmt: skip
    revision = deployment.current_revision
    PredictionLog.objects.create(
        deployment=deployment, revision_id=revision.pk, model_version_id=revision.stable_id,
        request_id="shadow", shadow=True, inputs={}, output="no", latency_ms=9999.0,
        created_at=timezone.now(),
    )  # fmt: skip
    latencies = [10.0] * 90 + [400.0] * 11 + [2000.0] * 2

    report = run(monitored, world)
    assert report.ops["requests"] == 103
    assert report.ops["errors"] == 3
    assert report.ops["error_rate"] == pytest.approx(3 / 103)
    assert report.ops["latency_p95_ms"] == pytest.approx(np.quantile(latencies, 0.95))
    assert report.ops["latency_p50_ms"] == pytest.approx(10.0)
    assert report.rows_current == 100  # errors are not predictions
    assert report.window_end - report.window_start == timedelta(hours=24)


def test_a_last_n_window_reads_the_newest_rows_and_their_time_bounds(world, monitored):
    now = timezone.now()
    log_predictions(monitored.deployment, feature_rows(80), at=now - timedelta(hours=2))
    log_predictions(monitored.deployment, feature_rows(60, seed=9), at=now)
    Monitor.objects.filter(pk=monitored.monitor.pk).update(window_predictions=60)
    report = run(monitored, world)
    assert report.rows_current == 60
    newest = PredictionLog.objects.order_by("-created_at")[:60]
    times = [row.created_at for row in newest]
    assert (report.window_start, report.window_end) == (min(times), max(times))
    assert report.ops["requests"] == 60


def test_labelled_predictions_add_performance_and_the_quality_report(world, monitored):
    rows = feature_rows(200, seed=11)
    outputs = ["yes" if r["x1"] + r["x2"] > 0 else "no" for r in rows]
    labels = [o if i % 5 else ("no" if o == "yes" else "yes") for i, o in enumerate(outputs)]
    log_predictions(monitored.deployment, rows, outputs=outputs, labels=labels)
    report = run(monitored, world)
    current = report.performance["current"]
    assert current["rows_labelled"] == 200
    assert current["accuracy"] == pytest.approx(0.8)
    assert 0 < current["f1"] <= 1 and "precision" in current  # Evidently's quality preset
    assert (Path(settings.ARTIFACT_ROOT) / report.performance["html_path"]).exists()
    assert report.predictions["counts"] == {
        "no": outputs.count("no"),
        "yes": outputs.count("yes"),
    }


def test_a_job_that_fails_marks_its_report_failed_with_the_reason(world, monitored):
    storage.blob_path(monitored.dataset_version.content_hash).unlink()
    log_predictions(monitored.deployment, feature_rows(100))
    report = run(monitored, world)
    assert report.status == ReportStatus.FAILED
    assert "reference data cannot be read" in report.error and "missing" in report.error
    assert report.job.status == "failed"
    assert AuditEvent.objects.filter(action="drift_report.fail", object_id=str(report.pk)).exists()


def test_scheduled_runs_skip_while_one_is_pending_and_when_disabled(world, monitored):
    monitor = monitored.monitor
    first = run_monitor(monitor.pk)
    report = DriftReport.objects.get(pk=first)
    assert report.trigger == "schedule" and report.status == "pending"
    assert Job.objects.get(pk=report.job_id).kind == "monitoring.drift"
    assert run_monitor(monitor.pk) is None  # the first is still pending
    job_run(job_id=report.job_id, worker="test")
    assert run_monitor(monitor.pk) is not None
    Monitor.objects.filter(pk=monitor.pk).update(enabled=False)
    DriftReport.objects.filter(status="pending").update(status="failed")
    assert run_monitor(monitor.pk) is None
    assert run_monitor(999_999) is None


def test_the_orm_fallback_reads_the_same_frame_as_copy(world, monitored):
    rows = feature_rows(120, seed=4)
    rows[3]["x2"] = None  # a gap, as clients send
    rows[5]["x1"] = 2  # an integer among floats
    del rows[7]["colour"]  # a key a client left out
    log_predictions(monitored.deployment, rows, outputs=[i % 3 for i in range(120)],
                    labels=[None] * 60 + ["yes"] * 60)  # fmt: skip
    since = timezone.now() - timedelta(hours=1)
    for kwargs in ({"since": since}, {"last_n": 50}, {"since": since, "last_n": 500}):
        connection.ensure_connection()
        copied = load_window(
            connection.connection, deployment_id=monitored.deployment.pk, columns=INPUTS, **kwargs
        )
        fallback, _, _ = load_window_orm(
            deployment_id=monitored.deployment.pk, columns=INPUTS, **kwargs
        )
        pd.testing.assert_frame_equal(fallback, copied)
    empty, start, end = load_window_orm(deployment_id=0, columns=INPUTS)
    assert empty.empty and list(empty.columns) == [*INPUTS, "prediction", "label"]
    assert start is None and end is None


def test_the_sqlite_path_gives_the_same_window_and_figures(world, monitored, monkeypatch):
    deployment = monitored.deployment
    log_predictions(deployment, feature_rows(70), latency_ms=12.0, errors=4)
    log_predictions(deployment, feature_rows(30, seed=8), latency_ms=90.0)
    now = timezone.now()
    for last_n in (None, 40):
        postgres = current_window(
            deployment_id=deployment.pk, columns=INPUTS, now=now, hours=24, last_n=last_n
        )
        monkeypatch.setattr(connection, "vendor", "sqlite")
        sqlite = current_window(
            deployment_id=deployment.pk, columns=INPUTS, now=now, hours=24, last_n=last_n
        )
        monkeypatch.undo()
        pd.testing.assert_frame_equal(sqlite.frame, postgres.frame)
        assert (sqlite.start, sqlite.end) == (postgres.start, postgres.end)
        assert sqlite.ops.keys() == postgres.ops.keys()
        for key, value in postgres.ops.items():
            assert sqlite.ops[key] == pytest.approx(value), key


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_run_now_on_a_real_worker_stores_a_self_contained_report(world, api, monitored, workers):
    log_predictions(monitored.deployment, feature_rows(150, seed=3, shift=2))
    worker = workers()
    answer = api(world.users["carl"]).post(f"/api/v1/monitors/{monitored.monitor.pk}/run/")
    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == "pending"
    report_id = answer.json()["id"]

    def done() -> bool:
        return DriftReport.objects.get(pk=report_id).status != "pending"

    from tests.celery_worker import wait_for

    wait_for(done, 120, worker.log)
    report = DriftReport.objects.get(pk=report_id)
    assert report.status == "ok", report.error + worker.log()
    assert report.dataset_drift is True
    html = (Path(settings.ARTIFACT_ROOT) / report.html_path).read_text()
    assert "<html" in html.lower() and len(html) > 10_000
    # Air-gapped: nothing loaded from the network.
    remote = re.findall(
        r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", html
    )
    assert remote == []
    body = api(world.users["vera"]).get(f"/api/v1/drift-reports/{report_id}/").json()
    assert body["html_url"] == f"/monitoring/reports/{report_id}/report.html"
    assert body["status"] == "ok" and len(body["columns"]) == 3


def test_a_drifting_report_opens_one_alert_and_hands_it_to_retraining_once(
    world, monitored, django_capture_on_commit_callbacks
):
    from apps.monitoring.models import Alert
    from apps.monitoring.services.monitors import monitor_create
    from apps.monitoring.services.retrain import retrain_on_alert

    monitored.monitor.delete()
    # Made by the service, so it has its default rule: "dataset drift detected".
    monitored.monitor = monitor_create(
        actor=world.users["carl"], deployment=monitored.deployment, name="drift",
        schedule_minutes=0, min_rows=50,
    )  # fmt: skip
    log_predictions(monitored.deployment, feature_rows(200, seed=2, shift=2))

    def retrainings(callbacks) -> list[int]:
        return [
            c.keywords["alert_id"]
            for c in callbacks
            if getattr(c, "func", None) is retrain_on_alert
        ]

    with django_capture_on_commit_callbacks() as first:
        assert run(monitored, world).dataset_drift is True
    alert = Alert.objects.get(monitor=monitored.monitor)
    assert alert.kind == "dataset_drift" and alert.status == "open"
    assert retrainings(first) == [alert.pk]

    with django_capture_on_commit_callbacks() as second:
        assert run(monitored, world).dataset_drift is True
    assert Alert.objects.filter(monitor=monitored.monitor).count() == 1
    assert retrainings(second) == []
