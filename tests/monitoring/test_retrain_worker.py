"""Retraining on a real Celery worker: a drift alert retrains the production version's recipe,
the worker trains and registers the new version in MLflow, and the job's end opens a pending
promotion request to staging. Nothing moves a stage by itself."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.experiments.services.training import training_job_create
from apps.monitoring.models import Alert, AlertRule, DriftReport, Monitor, RetrainRun
from apps.monitoring.services.retrain import retrain_on_alert, retrain_policy_create
from apps.notifications.models import InboxItem
from apps.registry.models import ModelVersion, PromotionRequest, Stage
from tests.celery_worker import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def trained(world, ready_version, worker) -> ModelVersion:
    """Version 1 of "churn", trained for real, then put in production as a promotion would."""
    training = training_job_create(
        actor=world.users["carl"], project=world.alpha, experiment="churn",
        dataset_version=ready_version, target="label", task="classification", template="mlp",
        params={"epochs": 3, "hidden_layers": [8], "seed": 7}, model_name="churn",
    )  # fmt: skip
    wait_for(lambda: ModelVersion.objects.filter(training_job=training).exists(), 180, worker.log)
    version = ModelVersion.objects.get(training_job=training)
    ModelVersion.objects.filter(pk=version.pk).update(
        stage=Stage.PRODUCTION, stage_changed_at=timezone.now()
    )
    return version


def alert_on(deployment) -> Alert:
    monitor = Monitor.objects.create(
        project=deployment.project, deployment=deployment, name="drift", schedule_minutes=0
    )
    report = DriftReport.objects.create(
        monitor=monitor, status="ok", dataset_drift=True, drift_share=1.0,
        drift_share_threshold=0.5, drifted_columns=2,
        columns=[{"column": c, "drifted": True} for c in ("x1", "x2")],
    )  # fmt: skip
    rule = AlertRule.objects.create(monitor=monitor, kind="dataset_drift")
    return Alert.objects.create(
        project=monitor.project, monitor=monitor, rule=rule, kind="dataset_drift",
        message="Dataset drift detected", opened_report=report, last_report=report,
        opened_at=timezone.now(),
    )  # fmt: skip


def test_drift_alert_ends_in_a_pending_staging_request_by_the_policy_creator(
    world, ready_version, deployment_factory, workers
):
    worker = workers()
    production = trained(world, ready_version, worker)
    deployment, _ = deployment_factory(
        stable=production, slug="churn-production", environment="production"
    )
    policy = retrain_policy_create(
        actor=world.users["carl"], registered_model=production.registered_model
    )
    alert = alert_on(deployment)

    run = retrain_on_alert(alert_id=alert.pk)
    assert run is not None and run.status == "training", run.reason

    def settled() -> bool:
        return RetrainRun.objects.get(pk=run.pk).status in ("requested", "failed")

    wait_for(settled, 180, worker.log)
    run = RetrainRun.objects.select_related("training_job__job", "model_version").get(pk=run.pk)
    assert run.status == "requested", (run.reason, worker.log())
    assert run.training_job.job.status == "succeeded"
    assert run.training_job.params == production.training_job.params
    new = run.model_version
    assert new.training_job_id == run.training_job_id and new.version == 2
    request = PromotionRequest.objects.get(pk=run.promotion_request_id)
    assert (request.model_version_id, request.target, request.status) == (
        new.pk, "staging", "pending",
    )  # fmt: skip
    assert request.requested_by == world.users["carl"] and request.gates
    assert {g["name"] for g in request.gates} >= {"training_job_succeeded", "dataset_validation"}
    assert request.justification.startswith(
        f"Retraining after drift alert #{alert.pk} on churn-production"
    )
    assert "production version 1" in request.justification
    # Never promoted by itself.
    new.refresh_from_db()
    production.refresh_from_db()
    assert new.stage == Stage.NONE and production.stage == Stage.PRODUCTION
    assert InboxItem.objects.filter(event="promotion.requested").count() == 2  # alice, rita
    assert policy.runs.count() == 1
