"""Continuous training: triggers, the cooldown and one-in-flight rules, launching the training
job and, when it succeeds, opening the promotion request to staging.

Every decision about a policy's runs is taken under the policy's row lock, so two triggers
arriving together (an alert and a new dataset version) are decided one after the other. The
run only ever asks for staging through `promotion_request_create`: reviewers approve it, this
module never moves a stage.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import APIException

from apps.core.models import JobStatus, Role
from apps.core.permissions import has_role
from apps.core.services.audit import audit_record
from apps.datasets.models import DatasetVersion, VersionStatus
from apps.datasets.storage import CorruptBlob, MissingBlob
from apps.experiments.services.training import training_job_create
from apps.monitoring.models import (
    DRIFT_RULE_KINDS,
    Alert,
    RetrainData,
    RetrainPolicy,
    RetrainRun,
    RetrainStatus,
    RetrainTrigger,
)
from apps.monitoring.models.retrain import IN_FLIGHT_STATUSES
from apps.monitoring.services.retrain_data import (
    NoData,
    latest_valid_version,
    production_version,
    reference_plus_labelled,
)
from apps.monitoring.services.retrain_messages import (
    error_text,
    justification,
    notify_creator,
    wait_text,
)
from apps.monitoring.services.retrain_policies import (
    retrain_policy_create,
    retrain_policy_delete,
    retrain_policy_update,
)
from apps.registry.models import ModelVersion, Stage
from apps.registry.services.promotions import promotion_request_create
from workers.training.errors import TrainingError

log = logging.getLogger(__name__)

__all__ = [
    "retrain_on_alert",
    "retrain_on_dataset_version",
    "retrain_policy_create",
    "retrain_policy_delete",
    "retrain_policy_update",
    "retrain_run_advance",
    "retrain_trigger",
]


class _Refused(Exception):
    """The trigger is recorded as a skipped run with this reason."""


class _Failed(Exception):
    """A run in flight cannot go on; it becomes failed with this reason."""


def _listens(policy: RetrainPolicy, trigger: str) -> bool:
    if not policy.enabled:
        return False
    return {
        RetrainTrigger.DRIFT_ALERT: policy.on_drift_alert,
        RetrainTrigger.DATASET_VERSION: policy.on_new_dataset_version,
        RetrainTrigger.SCHEDULE: policy.schedule_hours > 0,
        RetrainTrigger.MANUAL: True,
    }.get(trigger, False)


def _lock(policy_id: int) -> RetrainPolicy:
    return (
        RetrainPolicy.objects.select_for_update(of=("self",))
        .select_related("project", "registered_model", "created_by")
        .get(pk=policy_id)
    )


def _move(
    run: RetrainRun, to: str, *, actor: AbstractBaseUser | None = None, reason: str = ""
) -> None:
    """Save the run in its new status with its audit event (the caller holds the policy lock)."""
    previous = run.status or None
    run.status = to
    if reason:
        run.reason = reason[:5000]
    if to in (RetrainStatus.SKIPPED, RetrainStatus.REQUESTED, RetrainStatus.FAILED):
        run.finished_at = timezone.now()
    run.save()
    audit_record(
        actor=actor,
        action=f"retrain_run.{to}",
        obj=run,
        project=run.policy.project,
        changes={
            "status": {"from": previous, "to": to},
            "trigger": run.trigger,
            "reason": run.reason[:500],
            "training_job": run.training_job_id,
            "promotion_request": run.promotion_request_id,
        },
    )
    if to == RetrainStatus.FAILED:
        notify_creator(run, "retrain.failed", f"retraining failed: {run.reason[:200]}")


def _refusal(policy: RetrainPolicy, trigger_version: DatasetVersion | None) -> str:
    """Why this trigger must not launch now; empty when it may."""
    in_flight = policy.runs.filter(status__in=IN_FLIGHT_STATUSES).first()
    if in_flight is not None:
        return (
            f"Run #{in_flight.pk} is still {in_flight.get_status_display().lower()}: "
            "one retraining at a time."
        )
    last = policy.runs.exclude(status=RetrainStatus.SKIPPED).order_by("-created_at").first()
    if last is not None and policy.cooldown_minutes:
        until = last.created_at + timedelta(minutes=policy.cooldown_minutes)
        now = timezone.now()
        if now < until:
            return (
                f"Cooldown: run #{last.pk} launched at {last.created_at:%Y-%m-%d %H:%M} UTC; "
                f"the next retraining may start in {wait_text(until - now)} "
                f"(cooldown {policy.cooldown_minutes} min)."
            )
    if trigger_version is not None and trigger_version.validation_passed is False:
        return (
            f"{trigger_version.dataset.name} v{trigger_version.version} did not pass its "
            "validation rules: nothing new to train on."
        )
    creator = policy.created_by
    if creator is None or not creator.is_active:
        return "The policy's creator no longer exists; an admin must re-create the policy."
    if not has_role(creator, policy.project, Role.CONTRIBUTOR):
        return (
            f"{creator.get_username()}, who created the policy and in whose name its promotion "
            f"requests are made, is no longer a contributor of {policy.project.slug}."
        )
    return ""


def _launch(
    policy: RetrainPolicy,
    run: RetrainRun,
    version: DatasetVersion,
    actor: AbstractBaseUser | None = None,
) -> None:
    """Train the base version's template and parameters on `version`, in the creator's name."""
    base = run.base_version.training_job
    try:
        with transaction.atomic():
            training = training_job_create(
                actor=policy.created_by,
                project=policy.project,
                experiment=base.experiment.name,
                dataset_version=version,
                target=base.target,
                task=base.task,
                template=base.template,
                params=base.params,
                model_name=policy.registered_model.name,
            )
    except APIException as exc:
        raise _Failed(f"The training job could not be launched: {error_text(exc)}") from exc
    run.dataset_version = version
    run.training_job = training
    _move(run, RetrainStatus.TRAINING, actor=actor)


def _start(policy: RetrainPolicy, run: RetrainRun, actor: AbstractBaseUser | None) -> None:
    """From a fresh trigger: pick the base version and the data, then launch or prepare."""
    base = production_version(policy.registered_model)
    if base is None:
        raise _Refused(
            f"Nothing in production to retrain: {policy.registered_model.name} has no version "
            "in production."
        )
    run.base_version = base
    if base.training_job is None or base.dataset_version is None:
        raise _Refused(
            f"Production version {base.version} was not trained in the portal: there is no "
            "template, parameters or dataset to retrain it with."
        )
    if policy.data == RetrainData.REFERENCE_PLUS_LABELLED:
        since = timezone.now() - timedelta(days=policy.labelled_days)
        try:
            version = reference_plus_labelled(
                actor=policy.created_by, base=base, since=since,
                note=f"Retraining data of {policy.registered_model.name}: reference "
                f"v{base.dataset_version.version} plus predictions labelled in the last "
                f"{policy.labelled_days} days.",
            )  # fmt: skip
        except NoData as exc:
            raise _Refused(str(exc)) from exc
        except (APIException, OSError, MissingBlob, CorruptBlob, TrainingError) as exc:
            raise _Refused(f"The training data could not be built: {error_text(exc)}") from exc
        run.dataset_version = version
        if version.status == VersionStatus.FAILED:
            raise _Refused(f"Its data (v{version.version}) failed processing: {version.error}")
        if version.status != VersionStatus.READY:
            _move(run, RetrainStatus.PREPARING_DATA, actor=actor)
            return
    else:
        version = latest_valid_version(base.dataset_version.dataset)
        if version is None:
            raise _Refused(
                f"{base.dataset_version.dataset.name} has no ready version that passed validation."
            )
    try:
        _launch(policy, run, version, actor)
    except _Failed as exc:
        raise _Refused(str(exc)) from exc


def retrain_trigger(
    *,
    policy: RetrainPolicy,
    trigger: str,
    actor: AbstractBaseUser | None = None,
    alert: Alert | None = None,
    dataset_version: DatasetVersion | None = None,
) -> RetrainRun | None:
    """None when the policy is disabled or does not listen to `trigger` (nothing recorded);
    else the run: `skipped` with its reason (one in flight, cooldown, nothing in production,
    no valid data, the training refused), `preparing_data`, or `training`."""
    with transaction.atomic():
        policy = _lock(policy.pk)
        if not _listens(policy, trigger):
            return None
        _reconcile(policy)
        run = RetrainRun(
            policy=policy,
            trigger=trigger,
            alert=alert,
            trigger_dataset_version=dataset_version,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        try:
            refusal = _refusal(policy, dataset_version)
            if refusal:
                raise _Refused(refusal)
            _start(policy, run, actor)
        except _Refused as exc:
            _move(run, RetrainStatus.SKIPPED, actor=actor, reason=str(exc))
    return run


def _reconcile(policy: RetrainPolicy) -> None:
    """Advance runs whose data or training already ended: the hook that does it on commit may
    have been lost (the process died right after the commit), and an in-flight run must not
    block the policy forever."""
    for run in policy.runs.filter(status__in=IN_FLIGHT_STATUSES).select_related(
        "training_job__job", "dataset_version__dataset", "base_version", "alert"
    ):
        _advance_locked(policy, run)


def retrain_run_advance(*, run_id: int) -> RetrainRun | None:
    """Move an in-flight run on when its dataset version or training job has ended."""
    policy_id = RetrainRun.objects.filter(pk=run_id).values_list("policy_id", flat=True).first()
    if policy_id is None:
        return None
    with transaction.atomic():
        policy = _lock(policy_id)
        run = (
            RetrainRun.objects.select_for_update(of=("self",))
            .select_related("training_job__job", "dataset_version__dataset", "base_version")
            .get(pk=run_id)
        )
        _advance_locked(policy, run)
    return run


def _advance_locked(policy: RetrainPolicy, run: RetrainRun) -> None:
    run.policy = policy
    try:
        if run.status == RetrainStatus.PREPARING_DATA:
            _data_ready(policy, run)
        elif run.status == RetrainStatus.TRAINING:
            _training_ended(policy, run)
    except _Failed as exc:
        _move(run, RetrainStatus.FAILED, reason=str(exc))


def _data_ready(policy: RetrainPolicy, run: RetrainRun) -> None:
    version = run.dataset_version
    if version is None:
        raise _Failed("Its dataset version was deleted.")
    version.refresh_from_db(fields=["status", "validation_passed", "error"])
    if version.status == VersionStatus.FAILED:
        raise _Failed(f"Its data (v{version.version}) failed processing: {version.error[:500]}")
    if version.status != VersionStatus.READY:
        return
    if version.validation_passed is False:
        raise _Failed(f"Its data (v{version.version}) did not pass the dataset's validation rules.")
    if run.base_version is None or run.base_version.training_job_id is None:
        raise _Failed("Its base version is gone.")
    _launch(policy, run, version)


def _training_ended(policy: RetrainPolicy, run: RetrainRun) -> None:
    if run.training_job is None:
        raise _Failed("Its training job was deleted.")
    job = run.training_job.job
    job.refresh_from_db(fields=["status", "error"])
    if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        return
    if job.status != JobStatus.SUCCEEDED:
        first_line = (job.error or "").strip().splitlines()[:1]
        raise _Failed(
            f"Training job #{run.training_job_id} {job.status}"
            + (f": {first_line[0][:300]}" if first_line else ".")
        )
    version = (
        ModelVersion.objects.select_related("registered_model__project", "training_job")
        .filter(training_job=run.training_job)
        .first()
    )
    if version is None:
        raise _Failed(
            f"Training job #{run.training_job_id} ended without registering a model version."
        )
    run.model_version = version
    _request(policy, run, version)


def _request(policy: RetrainPolicy, run: RetrainRun, version: ModelVersion) -> None:
    creator = policy.created_by
    if creator is None:
        raise _Failed("The policy's creator no longer exists: no one to request the promotion.")
    try:
        with transaction.atomic():
            # Notifies the project's reviewers (not the requester) and runs the gates.
            request = promotion_request_create(
                actor=creator,
                model_version=version,
                target="staging",
                justification=justification(run, version),
            )
    except (APIException, DjangoPermissionDenied) as exc:
        raise _Failed(f"The promotion request could not be made: {error_text(exc)}") from exc
    run.promotion_request = request
    _move(run, RetrainStatus.REQUESTED)
    notify_creator(
        run,
        "retrain.requested",
        f"v{version.version} retrained; promotion to staging requested in your name "
        f"(#{request.pk}), waiting for reviewers",
    )


def retrain_on_alert(*, alert_id: int) -> RetrainRun | None:
    """Called on commit for every newly opened drift alert. Never raises: the alert and its
    report are already stored, a failure here is logged."""
    try:
        alert = (
            Alert.objects.select_related("monitor__deployment", "opened_report")
            .filter(pk=alert_id)
            .first()
        )
        if alert is None or alert.kind not in DRIFT_RULE_KINDS:
            return None
        policy = RetrainPolicy.objects.filter(
            registered_model_id=alert.monitor.deployment.registered_model_id
        ).first()
        if policy is None:
            return None
        return retrain_trigger(policy=policy, trigger=RetrainTrigger.DRIFT_ALERT, alert=alert)
    except Exception:
        log.exception("retraining on alert %s failed", alert_id)
        return None


def retrain_on_dataset_version(*, version_id: int) -> list[RetrainRun]:
    """A dataset version became ready: every enabled policy listening for new versions whose
    production version was trained on that dataset triggers. Versions a retraining built
    itself are not news."""
    version = DatasetVersion.objects.select_related("dataset").filter(pk=version_id).first()
    if version is None or version.status != VersionStatus.READY:
        return []
    if RetrainRun.objects.filter(dataset_version=version).exists():
        return []
    policies = RetrainPolicy.objects.filter(
        enabled=True,
        on_new_dataset_version=True,
        registered_model__versions__stage=Stage.PRODUCTION,
        registered_model__versions__dataset_version__dataset=version.dataset_id,
    ).distinct()
    runs = []
    for policy in policies:
        run = retrain_trigger(
            policy=policy, trigger=RetrainTrigger.DATASET_VERSION, dataset_version=version
        )
        if run is not None:
            runs.append(run)
    return runs
