"""The whole loop on a real worker: the demo's steps, checked row by row afterwards."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.monitoring.demo import Say, run_loop
from apps.monitoring.models import Alert, DriftReport, RetrainRun
from apps.registry.models import ModelVersion, PromotionRequest

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_drift_on_shifted_traffic_ends_in_a_promotion_request_nobody_approved_yet(workers):
    worker = workers()
    lines: list[str] = []
    made = run_loop(Say(line=lines.append, base_url="http://portal.test/"), rows=600,
                    window=200, timeout=240)  # fmt: skip
    output = "\n".join(lines)
    assert "http://portal.test/monitoring/" in output, output

    calm, shifted = (DriftReport.objects.get(pk=pk) for pk in made["reports"])
    assert calm.status == "ok" and calm.dataset_drift is False, calm.columns
    assert shifted.status == "ok" and shifted.dataset_drift is True, shifted.columns
    assert {c["column"] for c in shifted.columns if c["drifted"]} >= {"tenure", "plan"}

    # One alert for the drift episode, opened by the shifted report.
    alerts = list(Alert.objects.filter(monitor_id=made["monitor"]))
    assert [a.opened_report_id for a in alerts] == [shifted.pk], worker.log()

    run = RetrainRun.objects.select_related("training_job", "base_version").get(
        pk=made["retrain_run"]
    )
    assert (
        run.status == "requested" and run.trigger == "drift_alert" and run.alert_id == alerts[0].pk
    )
    # Retrained with production's template and parameters, on the dataset's newest version.
    assert run.dataset_version_id == made["dataset_versions"][1]
    assert run.base_version.dataset_version_id == made["dataset_versions"][0]
    assert run.training_job.template == run.base_version.training_job.template
    assert run.training_job.params == run.base_version.training_job.params

    request = PromotionRequest.objects.get(pk=made["promotion_request"])
    new_version = ModelVersion.objects.get(training_job=run.training_job)
    assert request.model_version_id == new_version.pk
    assert request.target == "staging" and request.status == "pending"
    assert request.gates and "drift" in request.justification.lower()
    # Never promoted by itself: the new version waits for reviewers.
    assert new_version.stage == "none"
    assert AuditEvent.objects.filter(action__startswith="alert.").exists()
