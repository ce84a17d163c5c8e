"""Retrain policies: create, update, delete, each with its django-celery-beat schedule kept in
step in the same transaction."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from rest_framework.exceptions import ValidationError

from apps.core.models import Role
from apps.core.permissions import require_role
from apps.core.services.audit import audit_record
from apps.monitoring.models import RetrainData, RetrainPolicy
from apps.registry.models import RegisteredModel

SCHEDULE_TASK = "monitoring.retrain_scheduled"
MAX_SCHEDULE_HOURS = 24 * 366
MAX_COOLDOWN_MINUTES = 60 * 24 * 366
MAX_LABELLED_DAYS = 3660
FIELDS = (
    "enabled",
    "on_drift_alert",
    "on_new_dataset_version",
    "schedule_hours",
    "data",
    "labelled_days",
    "cooldown_minutes",
)
_RANGES = {
    "schedule_hours": (0, MAX_SCHEDULE_HOURS),
    "labelled_days": (1, MAX_LABELLED_DAYS),
    "cooldown_minutes": (0, MAX_COOLDOWN_MINUTES),
}


def check_policy_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Field-level checks shared by the API, the page and direct callers (the demo)."""
    errors: dict[str, list[str]] = {}
    unknown = set(fields) - set(FIELDS)
    if unknown:
        errors["non_field_errors"] = [f"Unknown fields: {', '.join(sorted(unknown))}."]
    for name, (low, high) in _RANGES.items():
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[name] = [f"Enter a whole number from {low} to {high}."]
    if "data" in fields and fields["data"] not in RetrainData.values:
        errors["data"] = [f"Choose one of: {', '.join(RetrainData.values)}."]
    for name in ("enabled", "on_drift_alert", "on_new_dataset_version"):
        if name in fields and not isinstance(fields[name], bool):
            errors[name] = ["Must be true or false."]
    if errors:
        raise ValidationError(errors)
    return fields


def _schedule_sync(policy: RetrainPolicy) -> dict[str, Any]:
    """Create, update or remove the policy's PeriodicTask; returns what changed, for the audit.
    Saved and deleted through the model (not queryset updates): the beat scheduler learns of
    changes from those signals."""
    task = policy.periodic_task
    if not (policy.enabled and policy.schedule_hours > 0):
        if task is None:
            return {}
        policy.periodic_task = None
        policy.save(update_fields=["periodic_task"])
        task.delete()
        return {"schedule": "removed"}
    interval = IntervalSchedule.objects.filter(
        every=policy.schedule_hours, period=IntervalSchedule.HOURS
    ).first() or IntervalSchedule.objects.create(
        every=policy.schedule_hours, period=IntervalSchedule.HOURS
    )
    name = f"retrain-{policy.pk}"
    task = task or PeriodicTask.objects.filter(name=name).first() or PeriodicTask(name=name)
    task.interval = interval
    task.task = SCHEDULE_TASK
    task.kwargs = json.dumps({"policy_id": policy.pk})
    task.queue = "default"
    task.enabled = True
    task.description = f"Retrain {policy.registered_model.name} every {policy.schedule_hours} h"
    task.save()
    if policy.periodic_task_id != task.pk:
        policy.periodic_task = task
        policy.save(update_fields=["periodic_task"])
    return {"schedule": {"every_hours": policy.schedule_hours, "periodic_task": task.pk}}


def _taken(model: RegisteredModel) -> ValidationError:
    return ValidationError({"model": [f"Model {model.name} already has a retrain policy."]})


def retrain_policy_create(
    *, actor: AbstractBaseUser, registered_model: RegisteredModel, **fields: Any
) -> RetrainPolicy:
    """One policy per registered model. Its promotion requests are made in `actor`'s name."""
    require_role(actor, registered_model.project, Role.CONTRIBUTOR)
    check_policy_fields(fields)
    with transaction.atomic():
        # Serialises creates for one model, so the existence check below holds.
        RegisteredModel.objects.select_for_update().filter(pk=registered_model.pk).first()
        if RetrainPolicy.objects.filter(registered_model=registered_model).exists():
            raise _taken(registered_model)
        try:
            with transaction.atomic():
                policy = RetrainPolicy.objects.create(
                    project=registered_model.project,
                    registered_model=registered_model,
                    created_by=actor,
                    **fields,
                )
        except IntegrityError as exc:
            raise _taken(registered_model) from exc
        schedule = _schedule_sync(policy)
        audit_record(
            actor=actor,
            action="retrain_policy.create",
            obj=policy,
            project=policy.project,
            changes={
                "model": registered_model.name,
                **{f: getattr(policy, f) for f in FIELDS},
                **schedule,
            },
        )
    return policy


def retrain_policy_update(
    *, actor: AbstractBaseUser, policy: RetrainPolicy, **fields: Any
) -> RetrainPolicy:
    check_policy_fields(fields)
    with transaction.atomic():
        policy = (
            RetrainPolicy.objects.select_for_update(of=("self",))
            .select_related("project", "registered_model", "periodic_task")
            .get(pk=policy.pk)
        )
        require_role(actor, policy.project, Role.CONTRIBUTOR)
        changes = {
            f: {"from": getattr(policy, f), "to": v}
            for f, v in fields.items()
            if getattr(policy, f) != v
        }
        if not changes:
            return policy
        for field, change in changes.items():
            setattr(policy, field, change["to"])
        policy.save(update_fields=[*changes, "updated_at"])
        changes.update(_schedule_sync(policy))
        audit_record(
            actor=actor,
            action="retrain_policy.update",
            obj=policy,
            project=policy.project,
            changes=changes,
        )
    return policy


def retrain_policy_delete(*, actor: AbstractBaseUser, policy: RetrainPolicy) -> None:
    """Admins only. Its run history goes with it (the audit trail keeps every run's events);
    a training already launched finishes but opens no promotion request."""
    with transaction.atomic():
        policy = (
            RetrainPolicy.objects.select_for_update(of=("self",))
            .select_related("project", "registered_model", "periodic_task")
            .get(pk=policy.pk)
        )
        require_role(actor, policy.project, Role.ADMIN)
        policy_id, project, name = policy.pk, policy.project, policy.registered_model.name
        task = policy.periodic_task
        policy.delete()
        if task is not None:
            task.delete()
        audit_record(
            actor=actor,
            action="retrain_policy.delete",
            object_type="monitoring.retrainpolicy",
            object_id=policy_id,
            project=project,
            changes={"model": name, "schedule": "removed" if task else None},
        )
