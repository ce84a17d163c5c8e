"""The drift job kind: a monitor run on the `default` queue, mirrored by its drift report."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.core.jobs import JobContext, register_job_kind
from apps.monitoring.services.drift import DRIFT_JOB, drift_report_compute, drift_report_fail


class DriftParams(serializers.Serializer):
    report_id = serializers.IntegerField(min_value=1)


def _on_unsuccessful_end(job: Any, reason: str) -> None:
    """Failed, reaped or cancelled: the report says so instead of staying pending."""
    report_id = (job.params or {}).get("report_id")
    if report_id:
        drift_report_fail(report_id=report_id, error=reason)


@register_job_kind(
    DRIFT_JOB, queue="default", params=DriftParams, on_unsuccessful_end=_on_unsuccessful_end
)
def run_drift_job(ctx: JobContext) -> dict[str, Any]:
    """Compares a monitor's window of predictions with its reference (Evidently)."""
    report = drift_report_compute(report_id=ctx.params["report_id"], progress=ctx.progress)
    return {
        "report_id": report.pk,
        "status": report.status,
        "dataset_drift": report.dataset_drift,
        "drift_share": report.drift_share,
    }
