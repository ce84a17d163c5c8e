"""Retraining rules, decided by the real services on PostgreSQL (training jobs are created and
queued but not run here; test_retrain_worker.py runs them on a real worker)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.models import AuditEvent, Job, Membership
from apps.core.services.jobs import job_cancel
from apps.core.services.projects import membership_change_role
from apps.datasets.models import DatasetVersion
from apps.datasets.services import validation_rule_create
from apps.deployments.services.feedback import predictions_label
from apps.experiments.models import TrainingJob
from apps.monitoring.models import (
    Alert,
    AlertRule,
    DriftReport,
    RetrainPolicy,
    RetrainRun,
    RuleKind,
)
from apps.monitoring.services.retrain import (
    retrain_on_alert,
    retrain_policy_create,
    retrain_run_advance,
    retrain_trigger,
)
from apps.monitoring.tasks.retrain import retrain_scheduled
from apps.notifications.models import InboxItem
from apps.registry.models import ModelVersion, PromotionRequest, Stage
from tests.datasets.conftest import process, upload
from tests.experiments.conftest import make_csv
from tests.monitoring.conftest import feature_rows, log_predictions

pytestmark = pytest.mark.django_db


def new_version(world, api, dataset, *, seed: int, rows: int = 240) -> DatasetVersion:
    """A real upload of `dataset`, processed here (as the worker would)."""
    response = upload(api(world.users["carl"]), dataset.pk, make_csv(rows=rows, seed=seed))
    assert response.status_code == 201, response.content
    return process(response.json()["id"])


def drift_alert(monitored, *, kind: str = RuleKind.DATASET_DRIFT) -> Alert:
    """An alert as the alerting service opens it: its rule, and the report that opened it."""
    monitor = monitored.monitor
    report = DriftReport.objects.create(
        monitor=monitor, status="ok", dataset_drift=True, drift_share=0.75,
        drift_share_threshold=0.5, drifted_columns=3, rows_reference=190, rows_current=200,
        columns=[{"column": c, "test": "psi", "score": 0.3, "threshold": 0.1, "drifted": c != "x2"}
                 for c in ("x1", "x2", "colour", "amount")],
        model_version=monitored.version, finished_at=timezone.now(),
    )  # fmt: skip
    rule = AlertRule.objects.create(monitor=monitor, kind=kind, threshold=0.5)
    return Alert.objects.create(
        project=monitor.project, monitor=monitor, rule=rule, kind=kind,
        message="Dataset drift detected: 3 of 4 columns drifted", value=0.75,
        opened_report=report, last_report=report, opened_at=timezone.now(),
    )  # fmt: skip


def make_policy(world, monitored, *, user: str = "carl", **fields) -> RetrainPolicy:
    return retrain_policy_create(
        actor=world.users[user], registered_model=monitored.version.registered_model, **fields
    )


def finish_training(run: RetrainRun, *, accuracy: float = 0.93) -> ModelVersion:
    """What the training worker leaves behind when it succeeds: the job succeeded and the
    version registered from its MLflow run (test_retrain_worker.py does it for real)."""
    training = run.training_job
    Job.objects.filter(pk=training.job_id).update(status="succeeded", progress=1.0)
    model = run.policy.registered_model
    number = model.versions.count() + 1
    return ModelVersion.objects.create(
        registered_model=model, version=number, mlflow_run_id=f"run-{number}",
        source=f"models:/{model.name}/{number}", training_job=training,
        dataset_version=training.dataset_version, metrics={"accuracy": accuracy, "f1": 0.9},
        signature=run.base_version.signature,
    )  # fmt: skip


def test_drift_alert_trains_production_recipe_on_the_latest_valid_version(
    world, api, monitored, dataset
):
    newer = new_version(world, api, dataset, seed=1)
    # A still newer version that fails its validation rules is passed over.
    validation_rule_create(
        actor=world.users["carl"], dataset=dataset, kind="row_count_range", params={"max": 100}
    )
    invalid = new_version(world, api, dataset, seed=2)
    assert invalid.status == "ready" and invalid.validation_passed is False
    policy = make_policy(world, monitored)
    alert = drift_alert(monitored)

    run = retrain_on_alert(alert_id=alert.pk)

    assert run is not None and run.status == "training", run.reason
    assert (run.trigger, run.alert_id, run.policy_id) == ("drift_alert", alert.pk, policy.pk)
    assert run.base_version == monitored.version
    assert run.dataset_version == newer
    training = TrainingJob.objects.select_related("job", "experiment").get(pk=run.training_job_id)
    base = monitored.version.training_job
    assert training.dataset_version == newer
    assert (training.template, training.target, training.task) == (
        base.template, base.target, base.task,
    )  # fmt: skip
    # The production version's parameters (seed 0, validation 0.2), as the template cleans them.
    assert training.params["seed"] == 0 and training.params["validation_fraction"] == 0.2
    assert training.model_name == "churn" and training.experiment.name == base.experiment.name
    assert training.created_by == world.users["carl"]  # the policy's creator
    assert training.job.status == "queued" and training.job.queue == "gpu"
    assert AuditEvent.objects.filter(action="retrain_run.training", object_id=str(run.pk)).exists()


def test_an_alert_without_a_policy_or_of_another_kind_does_nothing(world, monitored):
    alert = drift_alert(monitored)
    assert retrain_on_alert(alert_id=alert.pk) is None
    make_policy(world, monitored)
    latency = drift_alert(monitored, kind=RuleKind.LATENCY_P95_ABOVE)
    assert retrain_on_alert(alert_id=latency.pk) is None
    assert retrain_on_alert(alert_id=999_999) is None
    assert not RetrainRun.objects.exists()


def test_disabled_policy_or_an_unheard_trigger_records_nothing(world, monitored):
    policy = make_policy(world, monitored, enabled=False)
    assert retrain_trigger(policy=policy, trigger="manual", actor=world.users["carl"]) is None
    assert retrain_on_alert(alert_id=drift_alert(monitored).pk) is None
    RetrainPolicy.objects.filter(pk=policy.pk).update(enabled=True, on_drift_alert=False)
    assert retrain_trigger(policy=policy, trigger="drift_alert") is None
    assert retrain_trigger(policy=policy, trigger="dataset_version") is None
    assert retrain_trigger(policy=policy, trigger="schedule") is None  # schedule_hours 0
    assert not RetrainRun.objects.exists()


def test_one_retraining_in_flight(world, monitored):
    policy = make_policy(world, monitored)
    first = retrain_trigger(policy=policy, trigger="manual", actor=world.users["carl"])
    assert first.status == "training"
    second = retrain_on_alert(alert_id=drift_alert(monitored).pk)
    assert second.status == "skipped" and second.training_job is None
    assert f"Run #{first.pk} is still training" in second.reason
    assert TrainingJob.objects.count() == 2  # the production version's and the first run's
    # The database holds the rule too, whatever a caller does.
    with pytest.raises(IntegrityError), transaction.atomic():
        RetrainRun.objects.create(policy=policy, trigger="manual", status="preparing_data")


def test_cooldown_then_launch_after_it(world, monitored, django_capture_on_commit_callbacks):
    policy = make_policy(world, monitored, cooldown_minutes=60)
    first = retrain_trigger(policy=policy, trigger="manual", actor=world.users["carl"])
    # The training ends (cancelled): the run fails through the training job's end hook.
    with django_capture_on_commit_callbacks(execute=True):
        job_cancel(job=first.training_job.job, actor=world.users["carl"])
    first.refresh_from_db()
    assert first.status == "failed" and "cancelled" in first.reason

    skipped = retrain_trigger(policy=policy, trigger="manual", actor=world.users["carl"])
    assert skipped.status == "skipped"
    assert skipped.reason.startswith(f"Cooldown: run #{first.pk} launched")
    assert "may start in 59 min" in skipped.reason or "may start in 60 min" in skipped.reason
    assert AuditEvent.objects.filter(action="retrain_run.skipped").count() == 1

    RetrainRun.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=61))
    # Skipped runs do not restart the cooldown: only the last launched one counts.
    later = retrain_trigger(policy=policy, trigger="manual", actor=world.users["carl"])
    assert later.status == "training", later.reason


def test_nothing_in_production_is_skipped(world, model_version_factory):
    version = model_version_factory(stage=Stage.STAGING)
    policy = retrain_policy_create(
        actor=world.users["carl"], registered_model=version.registered_model
    )
    run = retrain_trigger(policy=policy, trigger="manual", actor=world.users["carl"])
    assert run.status == "skipped" and run.reason.startswith("Nothing in production to retrain")
    assert not TrainingJob.objects.exclude(pk=version.training_job_id).exists()


def test_success_opens_a_pending_staging_request_in_the_creators_name(world, monitored):
    make_policy(world, monitored)
    alert = drift_alert(monitored)
    run = retrain_on_alert(alert_id=alert.pk)
    version = finish_training(run)

    run = retrain_run_advance(run_id=run.pk)

    assert run.status == "requested" and run.model_version == version, run.reason
    request = PromotionRequest.objects.get(pk=run.promotion_request_id)
    assert (request.target, request.status) == ("staging", "pending")
    assert request.requested_by == world.users["carl"]
    assert request.gates and request.gates_checked_at is not None
    assert request.justification.startswith(
        f"Retraining after drift alert #{alert.pk} on churn-production (Dataset drift detected"
    )
    assert "drifted: x1, colour, amount" in request.justification
    assert "production version 1" in request.justification and "(mlp)" in request.justification
    version.refresh_from_db()
    monitored.version.refresh_from_db()
    assert version.stage == "none" and monitored.version.stage == "production"
    # Reviewers hear of the request once (from the promotion service); the creator once.
    told = InboxItem.objects.values_list("user__username", "event")
    assert sorted(told) == [
        ("alice", "promotion.requested"),
        ("carl", "retrain.requested"),
        ("rita", "promotion.requested"),
    ]
    # A second advance (a redelivered hook) changes nothing.
    retrain_run_advance(run_id=run.pk)
    assert PromotionRequest.objects.count() == 1 and InboxItem.objects.count() == 3


def test_creator_without_contributor_role_fails_the_run_without_raising(world, monitored):
    make_policy(world, monitored)
    run = retrain_trigger(
        policy=RetrainPolicy.objects.get(), trigger="manual", actor=world.users["carl"]
    )
    finish_training(run)
    membership = Membership.objects.get(user=world.users["carl"], project=world.alpha)
    membership_change_role(actor=world.users["alice"], membership=membership, role="viewer")

    run = retrain_run_advance(run_id=run.pk)

    assert run.status == "failed" and run.finished_at is not None
    assert run.reason.startswith("The promotion request could not be made: This needs the")
    assert not PromotionRequest.objects.exists()
    assert InboxItem.objects.filter(user=world.users["carl"], event="retrain.failed").exists()
    # And the next trigger is refused up front, naming why.
    RetrainRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(days=1))
    again = retrain_trigger(policy=RetrainPolicy.objects.get(), trigger="manual")
    assert again.status == "skipped" and "no longer a contributor" in again.reason


def test_new_dataset_version_triggers_listening_policies(
    world, api, monitored, dataset, django_capture_on_commit_callbacks
):
    policy = make_policy(world, monitored, on_drift_alert=False, on_new_dataset_version=True)
    response = upload(api(world.users["carl"]), dataset.pk, make_csv(seed=5))
    with django_capture_on_commit_callbacks(execute=True):
        version = process(response.json()["id"])
    run = RetrainRun.objects.get(policy=policy)
    assert (run.trigger, run.trigger_dataset_version, run.status) == (
        "dataset_version", version, "training",
    )  # fmt: skip
    assert run.dataset_version == version and run.training_job.dataset_version == version

    # A version that fails its validation rules is recorded, not trained on.
    RetrainRun.objects.filter(pk=run.pk).update(status="failed")
    RetrainPolicy.objects.filter(pk=policy.pk).update(cooldown_minutes=0)
    validation_rule_create(
        actor=world.users["carl"], dataset=dataset, kind="row_count_range", params={"max": 10}
    )
    response = upload(api(world.users["carl"]), dataset.pk, make_csv(seed=6))
    with django_capture_on_commit_callbacks(execute=True):
        process(response.json()["id"])
    skipped = RetrainRun.objects.filter(policy=policy).first()
    assert skipped.status == "skipped" and "did not pass its validation rules" in skipped.reason


def test_reference_plus_labelled_builds_a_new_version_then_trains_on_it(
    world, monitored, django_capture_on_commit_callbacks
):
    policy = make_policy(
        world, monitored, data="reference_plus_labelled", labelled_days=7,
        on_new_dataset_version=True,
    )  # fmt: skip
    empty = retrain_trigger(policy=policy, trigger="manual", actor=world.users["carl"])
    assert empty.status == "skipped" and "No predictions of churn were labelled" in empty.reason

    rows = feature_rows(30, seed=3)
    log_predictions(monitored.deployment, rows)
    labels = [{"request_id": f"req-{i}", "label": "yes" if i % 2 else "no"} for i in range(25)]
    assert predictions_label(actor=world.users["carl"], labels=labels)["matched"] == 25

    run = retrain_trigger(policy=policy, trigger="manual", actor=world.users["carl"])
    assert run.status == "preparing_data", run.reason
    built = run.dataset_version
    assert built.dataset == monitored.dataset_version.dataset and built.version == 2
    assert "plus predictions labelled in the last 7 days" in built.note

    with django_capture_on_commit_callbacks(execute=True):
        built = process(built.pk)
    assert built.status == "ready" and built.row_count == 240 + 25, built.error
    run.refresh_from_db()
    assert run.status == "training" and run.training_job.dataset_version == built
    # The version it built is not "a new dataset version" to the policy listening for them.
    assert RetrainRun.objects.filter(policy=policy).count() == 2


def test_scheduled_task_triggers_the_policy(world, monitored):
    policy = make_policy(world, monitored, schedule_hours=6)
    run_id = retrain_scheduled(policy.pk)
    run = RetrainRun.objects.get(pk=run_id)
    assert (run.trigger, run.status) == ("schedule", "training")
    assert retrain_scheduled(999_999) is None


def test_a_lost_training_end_is_caught_up_by_the_next_trigger(world, monitored):
    policy = make_policy(world, monitored, cooldown_minutes=30)
    run = retrain_trigger(policy=policy, trigger="manual", actor=world.users["carl"])
    finish_training(run)  # the job ended, but its on-commit hook never ran (process died)

    later = retrain_on_alert(alert_id=drift_alert(monitored).pk)

    run.refresh_from_db()
    assert run.status == "requested" and run.promotion_request is not None
    assert later.status == "skipped" and later.reason.startswith("Cooldown")


def test_data_that_fails_processing_fails_the_run(
    world, monitored, django_capture_on_commit_callbacks
):
    policy = make_policy(world, monitored, data="reference_plus_labelled")
    log_predictions(monitored.deployment, feature_rows(12, seed=4))
    labels = [{"request_id": f"req-{i}", "label": "yes"} for i in range(12)]
    predictions_label(actor=world.users["carl"], labels=labels)
    run = retrain_trigger(policy=policy, trigger="manual", actor=world.users["carl"])
    assert run.status == "preparing_data"

    with django_capture_on_commit_callbacks(execute=True):
        job_cancel(job=run.dataset_version.job, actor=world.users["alice"])

    run.refresh_from_db()
    assert run.status == "failed" and "failed processing" in run.reason
    assert run.training_job is None
