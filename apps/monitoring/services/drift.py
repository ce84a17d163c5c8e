"""Drift runs: request one (job row first, task on commit), compute it, store it.

The computation (`drift_report_compute`) runs in the worker; it reads and writes nothing but
the report's own row, which `drift_report_store` fills in one transaction under the row lock,
together with the alerts the report opens. A job that ends without success marks its report
failed (`drift_report_fail`, called from the job kind's end hook).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from apps.core.models import Role
from apps.core.permissions import require_role
from apps.core.services.audit import audit_record
from apps.core.services.jobs import job_create
from apps.monitoring.models import (
    DRIFT_RULE_KINDS,
    DriftReport,
    Monitor,
    ReportStatus,
    ReportTrigger,
)
from apps.monitoring.selectors.window import current_window
from apps.monitoring.services.drift_inputs import (
    DriftJobError,
    load_reference,
    prediction_distribution,
    task_of,
)
from apps.monitoring.services.monitor_checks import model_inputs
from apps.registry.models import ModelVersion

log = logging.getLogger(__name__)

DRIFT_JOB = "monitoring.drift"
REPORT_DIR = "drift-reports"
Progress = Callable[[float, str], None]


def drift_run_request(
    *,
    actor: AbstractBaseUser | None,
    monitor: Monitor,
    trigger: str = ReportTrigger.MANUAL,
) -> DriftReport:
    """A pending report and its job (queue default); the task is sent once this commits.
    `actor` None is the schedule; people need the contributor role."""
    if trigger not in ReportTrigger.values:
        raise ValueError(f"unknown trigger {trigger!r}")
    with transaction.atomic():
        monitor = Monitor.objects.select_for_update().select_related("project").get(pk=monitor.pk)
        if actor is not None:
            require_role(actor, monitor.project, Role.CONTRIBUTOR)
        report = DriftReport.objects.create(
            monitor=monitor, trigger=trigger, drift_share_threshold=monitor.drift_share
        )
        job = job_create(
            project=monitor.project, kind=DRIFT_JOB, params={"report_id": report.pk}, actor=actor
        )
        report.job = job
        report.save(update_fields=["job"])
        audit_record(
            actor=actor, action="drift_report.request", obj=report, project=monitor.project,
            changes={"monitor": monitor.pk, "trigger": trigger, "job": job.pk},
        )  # fmt: skip
    return report


def drift_run_scheduled(*, monitor_id: int) -> DriftReport | None:
    """Beat's run of a monitor: nothing when the monitor is gone or disabled, or when its last
    run is still pending (slow runs must not pile up)."""
    with transaction.atomic():
        monitor = Monitor.objects.select_for_update().filter(pk=monitor_id).first()
        if monitor is None or not monitor.enabled:
            return None
        if monitor.reports.filter(status=ReportStatus.PENDING).exists():
            log.info("monitor %s: previous run still pending, skipped", monitor_id)
            return None
        return drift_run_request(actor=None, monitor=monitor, trigger=ReportTrigger.SCHEDULE)


def report_file(report_id: int, suffix: str = "") -> tuple[Path, str]:
    """(absolute path, path relative to ARTIFACT_ROOT) of a report's HTML file."""
    relative = f"{REPORT_DIR}/{report_id}{suffix}.html"
    return Path(settings.ARTIFACT_ROOT) / relative, relative


def drift_report_compute(*, report_id: int, progress: Progress | None = None) -> DriftReport:
    """Load the reference and the window, run the drift tests (and, with labels, Evidently's
    quality preset), then store everything. Raises DriftJobError with a reason for people."""
    from workers.drift.performance import labelled
    from workers.drift.report import OK, run_drift

    step = progress or (lambda _fraction, _message: None)
    started = time.monotonic()
    report = DriftReport.objects.select_related(
        "monitor__reference_dataset_version__dataset",
        "monitor__deployment__current_revision__stable__training_job__dataset_version",
    ).get(pk=report_id)
    if report.status != ReportStatus.PENDING:
        return report
    monitor = report.monitor
    revision = monitor.deployment.current_revision
    if revision is None:
        raise DriftJobError(f"Deployment '{monitor.deployment.slug}' serves nothing yet.")
    version = revision.stable
    columns = list(monitor.columns) or list(model_inputs(monitor.deployment))
    if not columns:
        raise DriftJobError("No columns to test: the deployed version has no input signature.")

    step(0.1, "loading the reference")
    reference, reference_version = load_reference(monitor, version, columns)
    step(0.4, "loading the window")
    window = current_window(
        deployment_id=monitor.deployment_id, columns=columns, now=timezone.now(),
        hours=monitor.window_hours, last_n=monitor.window_predictions,
    )  # fmt: skip
    task = task_of(version)
    with_labels = task is not None and len(labelled(window.frame)) > 0
    step(0.6, "comparing with the reference")
    html, html_relative = report_file(report.pk)
    html.parent.mkdir(parents=True, exist_ok=True)
    summary = run_drift(
        reference, window.frame, columns=columns, drift_share=monitor.drift_share,
        column_threshold=monitor.column_threshold,
        per_column_method=dict(monitor.per_column_method) or None, min_rows=monitor.min_rows,
        task=task if with_labels else None, html_path=str(html),
    )  # fmt: skip
    if summary.status == OK and with_labels and summary.performance is not None:
        step(0.85, "model quality on labelled predictions")
        _add_quality(report.pk, summary.performance, window.frame, task, version)
    return drift_report_store(
        report_id=report.pk,
        summary=summary,
        model_version_id=version.pk,
        reference_dataset_version_id=reference_version.pk if reference_version else None,
        window_start=window.start,
        window_end=window.end,
        predictions=prediction_distribution(window.frame, task),
        ops=window.ops,
        html_path=html_relative if summary.status == OK and html.exists() else "",
        duration_seconds=time.monotonic() - started,
    )


def _add_quality(
    report_id: int, performance: dict, frame: pd.DataFrame, task: str, version: ModelVersion
) -> None:
    """Evidently's quality preset on the labelled rows: its figures join the current side of
    `performance`, its HTML is saved beside the drift report. A window Evidently cannot score
    (one class only, say) keeps the simple figures and says why."""
    from workers.drift.performance import quality_report

    path, relative = report_file(report_id, "-performance")
    classes = (version.signature or {}).get("classes")
    try:
        figures = quality_report(frame, task, classes=classes, html_path=str(path))
    except Exception as exc:  # Evidently refuses degenerate windows in many ways
        log.info("report %s: no quality report: %s", report_id, exc)
        performance["quality_error"] = f"{type(exc).__name__}: {exc}"[:500]
        return
    current = performance.setdefault("current", {})
    for name, value in figures.items():
        current.setdefault(name, value)
    performance["html_path"] = relative


def drift_report_store(
    *,
    report_id: int,
    summary: Any,
    model_version_id: int | None = None,
    reference_dataset_version_id: int | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    predictions: dict | None = None,
    ops: dict | None = None,
    html_path: str = "",
    duration_seconds: float | None = None,
) -> DriftReport:
    """Write a computed report (a workers.drift DriftSummary) and evaluate its alert rules, in
    one transaction. A report that is no longer pending (its job was failed or reaped meanwhile)
    is left as it is."""
    with transaction.atomic():
        report = (
            DriftReport.objects.select_for_update(of=("self",))
            .select_related("monitor__project")
            .get(pk=report_id)
        )
        if report.status != ReportStatus.PENDING:
            return report
        report.status = summary.status
        report.dataset_drift = summary.dataset_drift
        report.drift_share = summary.drift_share
        report.drifted_columns = summary.drifted_columns
        report.rows_reference = summary.rows_reference
        report.rows_current = summary.rows_current
        report.columns = [asdict(column) for column in summary.columns]
        report.performance = summary.performance
        report.model_version_id = model_version_id
        report.reference_dataset_version_id = reference_dataset_version_id
        report.window_start, report.window_end = window_start, window_end
        report.predictions = predictions or {}
        report.ops = ops or {}
        report.html_path = html_path
        report.duration_seconds = duration_seconds
        report.finished_at = timezone.now()
        report.save()
        audit_record(
            actor=None, action="drift_report.complete", obj=report,
            project=report.monitor.project,
            changes={
                "status": {"from": ReportStatus.PENDING, "to": report.status},
                "dataset_drift": report.dataset_drift, "drift_share": report.drift_share,
                "drifted": [c["column"] for c in report.columns if c["drifted"]],
            },
        )  # fmt: skip
        _alerts_and_retraining(report)
    return report


def _alerts_and_retraining(report: DriftReport) -> None:
    from apps.monitoring.services.alerts import alerts_evaluate
    from apps.monitoring.services.retrain import retrain_on_alert

    for alert in alerts_evaluate(report=report):
        if alert.kind in DRIFT_RULE_KINDS:
            # Robust: a retraining that cannot start is logged; the report and alert stand.
            retrain = functools.partial(retrain_on_alert, alert_id=alert.pk)
            transaction.on_commit(retrain, robust=True)


def drift_report_fail(*, report_id: int, error: str) -> DriftReport | None:
    """Mark a pending report failed with the reason its job gave (failed, reaped, cancelled)."""
    with transaction.atomic():
        report = (
            DriftReport.objects.select_for_update(of=("self",))
            .select_related("monitor__project")
            .filter(pk=report_id)
            .first()
        )
        if report is None or report.status != ReportStatus.PENDING:
            return report
        report.status = ReportStatus.FAILED
        report.error = error or "The drift job ended without a result."
        report.finished_at = timezone.now()
        report.save(update_fields=["status", "error", "finished_at"])
        audit_record(
            actor=None, action="drift_report.fail", obj=report, project=report.monitor.project,
            changes={"status": {"from": ReportStatus.PENDING, "to": ReportStatus.FAILED},
                     "error": report.error[:500]},
        )  # fmt: skip
    return report
