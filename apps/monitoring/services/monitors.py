"""Monitors: create, change and delete them, with their django-celery-beat schedule.

A monitor that is enabled and has `schedule_minutes > 0` owns one PeriodicTask (named
`monitor-<id>`, task `monitoring.run_monitor`); every write brings that task in line in the
same transaction, so beat never runs a monitor that no longer wants it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from rest_framework.exceptions import ValidationError

from apps.core.models import Role
from apps.core.permissions import require_role
from apps.core.services.audit import audit_record
from apps.deployments.models import Deployment
from apps.monitoring.models import AlertRule, Monitor, RuleKind
from apps.monitoring.services.monitor_checks import monitor_errors

log = logging.getLogger(__name__)

RUN_TASK = "monitoring.run_monitor"
EDITABLE = (
    "name",
    "enabled",
    "reference_dataset_version",
    "window_hours",
    "window_predictions",
    "schedule_minutes",
    "columns",
    "per_column_method",
    "column_threshold",
    "drift_share",
    "min_rows",
)


def monitor_create(
    *,
    actor: AbstractBaseUser | None,
    deployment: Deployment,
    default_rule: bool = True,
    **fields: Any,
) -> Monitor:
    """A monitor of `deployment` (contributor). Without rules of its own it gets one rule,
    "dataset drift detected", so a new monitor alerts on drift out of the box."""
    _check_actor(actor, deployment.project)
    _only_editable(fields)
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    monitor = Monitor(
        project_id=deployment.project_id,
        deployment=deployment,
        created_by=_user(actor),
        **fields,
    )
    _validate(monitor)
    with transaction.atomic():
        _save_unique(monitor, force_insert=True)
        _sync_schedule(monitor)
        if default_rule:
            AlertRule.objects.create(
                monitor=monitor, kind=RuleKind.DATASET_DRIFT, created_by=_user(actor)
            )
        audit_record(
            actor=actor,
            action="monitor.create",
            obj=monitor,
            project=deployment.project,
            changes={"deployment": deployment.slug, **_snapshot(monitor)},
        )
    return monitor


def monitor_update(*, actor: AbstractBaseUser | None, monitor: Monitor, **fields: Any) -> Monitor:
    """Change some settings; the result as a whole must be valid (a 400 changes nothing)."""
    _only_editable(fields)
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    with transaction.atomic():
        monitor = (
            Monitor.objects.select_for_update(of=("self",))
            .select_related("project", "deployment__current_revision__stable")
            .get(pk=monitor.pk)
        )
        _check_actor(actor, monitor.project)
        before = _snapshot(monitor)
        for field, value in fields.items():
            setattr(monitor, field, value)
        _validate(monitor)
        _save_unique(monitor)
        _sync_schedule(monitor)
        after = _snapshot(monitor)
        changes = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
        audit_record(
            actor=actor, action="monitor.update", obj=monitor, project=monitor.project,
            changes=changes,
        )  # fmt: skip
    return monitor


def monitor_delete(*, actor: AbstractBaseUser | None, monitor: Monitor) -> None:
    """Delete a monitor with its schedule, rules, reports and alerts (and, once committed, the
    HTML files of its reports)."""
    with transaction.atomic():
        monitor = (
            Monitor.objects.select_for_update(of=("self",))
            .select_related("project", "deployment")
            .get(pk=monitor.pk)
        )
        _check_actor(actor, monitor.project)
        files = [
            path
            for html, performance in monitor.reports.values_list("html_path", "performance")
            for path in (html, (performance or {}).get("html_path"))
            if path
        ]
        snapshot = {"deployment": monitor.deployment.slug, **_snapshot(monitor)}
        task_id, monitor_id, project = monitor.periodic_task_id, monitor.pk, monitor.project
        monitor.delete()
        if task_id is not None:
            PeriodicTask.objects.filter(pk=task_id).delete()
        audit_record(
            actor=actor, action="monitor.delete", object_type="monitoring.monitor",
            object_id=monitor_id, project=project, changes=snapshot,
        )  # fmt: skip
        transaction.on_commit(lambda: _remove_files(files), robust=True)


def _check_actor(actor: AbstractBaseUser | None, project) -> None:
    # None is the system (the demo, a scheduled task); people need the contributor role.
    if actor is not None:
        require_role(actor, project, Role.CONTRIBUTOR)


def _user(actor: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return actor if actor is not None and actor.is_authenticated else None


def _only_editable(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise TypeError(f"not monitor settings: {', '.join(unknown)}")


def _validate(monitor: Monitor) -> None:
    errors = monitor_errors(monitor)
    if errors:
        raise ValidationError(errors)


def _save_unique(monitor: Monitor, *, force_insert: bool = False) -> None:
    """Save; a name the deployment already uses is a 400 on `name`, also when two requests race
    (the unique constraint decides; the savepoint keeps the caller's transaction usable)."""
    taken = Monitor.objects.filter(deployment_id=monitor.deployment_id, name=monitor.name)
    if monitor.pk is not None:
        taken = taken.exclude(pk=monitor.pk)
    message = (
        f"Deployment '{monitor.deployment.slug}' already has a monitor named {monitor.name!r}."
    )
    if taken.exists():
        raise ValidationError({"name": [message]})
    try:
        with transaction.atomic():
            monitor.save(force_insert=force_insert)
    except IntegrityError as exc:
        raise ValidationError({"name": [message]}) from exc


def _sync_schedule(monitor: Monitor) -> None:
    """Make the monitor's PeriodicTask match enabled/schedule_minutes: present and running every
    N minutes, or gone."""
    task = (
        PeriodicTask.objects.filter(pk=monitor.periodic_task_id).first()
        if monitor.periodic_task_id
        else None
    )
    if not monitor.enabled or monitor.schedule_minutes == 0:
        if task is not None:
            monitor.periodic_task = None
            monitor.save(update_fields=["periodic_task"])
            task.delete()
        return
    every = monitor.schedule_minutes
    interval = (
        IntervalSchedule.objects.filter(every=every, period=IntervalSchedule.MINUTES)
        .order_by("pk")
        .first()
    ) or IntervalSchedule.objects.create(every=every, period=IntervalSchedule.MINUTES)
    values = {
        "task": RUN_TASK,
        "interval": interval,
        "kwargs": json.dumps({"monitor_id": monitor.pk}),
        "queue": "default",
        # A run that could not start before the next one is due is dropped, not piled up.
        "expire_seconds": every * 60,
        "enabled": True,
        "description": f"Drift monitor {monitor.deployment.slug}/{monitor.name}",
    }
    if task is None:
        task, _ = PeriodicTask.objects.update_or_create(
            name=f"monitor-{monitor.pk}", defaults=values
        )
        monitor.periodic_task = task
        monitor.save(update_fields=["periodic_task"])
        return
    changed = [k for k, v in values.items() if getattr(task, k) != v]
    if changed:
        for key in changed:
            setattr(task, key, values[key])
        task.save()


def _snapshot(monitor: Monitor) -> dict[str, Any]:
    values = {field: getattr(monitor, field) for field in EDITABLE}
    values["reference_dataset_version"] = monitor.reference_dataset_version_id
    return values


def _remove_files(paths: list[str]) -> None:
    root = Path(settings.ARTIFACT_ROOT)
    for relative in paths:
        try:
            (root / relative).unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove %s", relative, exc_info=True)
