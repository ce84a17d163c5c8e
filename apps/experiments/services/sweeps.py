"""Sweeps: a hyper-parameter search run as training jobs, at most `max_parallel` at once.

Every check runs before anything is stored or queued, over the whole plan. Trials are launched
by `sweep_advance`, which each trial's ending triggers (the training job kind's `on_end`) and
which holds the sweep's row lock: two trials ending at once cannot launch the same next trial
(and the unique (sweep, trial) constraint would refuse it if they did).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.core.models import JobStatus, Project
from apps.core.models.jobs import ACTIVE_STATUSES
from apps.core.services.audit import audit_record
from apps.core.services.jobs import IllegalTransition, job_cancel
from apps.datasets.models import DatasetVersion
from apps.experiments.models import Direction, Strategy, Sweep, SweepStatus, Task, TrainingJob
from apps.experiments.services.training import (
    _experiment_for,
    check_training_input,
    training_job_create,
)

log = logging.getLogger(__name__)

MAX_TRIALS = settings.SWEEP_MAX_TRIALS
# What TrainingJob.metrics holds for each task (workers.training.job: the best epoch's values).
TASK_METRICS = {
    Task.CLASSIFICATION: ("accuracy", "f1", "roc_auc", "log_loss", "val_loss"),
    Task.REGRESSION: ("rmse", "mae", "r2", "val_loss"),
}
LOWER_IS_BETTER = frozenset({"val_loss", "log_loss", "rmse", "mae"})


def default_direction(metric: str) -> str:
    return Direction.MINIMIZE if metric in LOWER_IS_BETTER else Direction.MAXIMIZE


def _space_errors(template: str, space: Any) -> tuple[dict, dict[str, list[str]]]:
    """Template-aware checks of the space; returns it with int ranges typed, and errors."""
    from workers.training import param_schema

    try:
        schema = param_schema(template)
    except KeyError:
        return space, {}  # the template itself is reported by check_training_input
    if not isinstance(space, dict):
        return space, {}
    normalized, errors = {}, {}
    for name, spec in space.items():
        param = schema.get(name)
        if param is None:
            errors[name] = [f"Unknown parameter for template {template!r}."]
            continue
        if isinstance(spec, dict) and "values" not in spec:
            messages = _range_errors(param, spec)
            if messages:
                errors[name] = messages
                continue
            if param["type"] == "int":
                spec = {**spec, "type": "int"}  # an int parameter takes whole numbers only
        normalized[name] = spec
    return normalized, errors


def _range_errors(param: dict, spec: dict) -> list[str]:
    if param["type"] not in ("int", "float"):
        return [f"A {param['type']} parameter takes a list of values, not a range."]
    if param["type"] == "int" and spec.get("type") == "float":
        return ["This parameter is an integer: its range cannot be of type float."]
    messages = []
    for key, bound, compare in (("min", param["min"], min), ("max", param["max"], max)):
        value = spec.get(key)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and bound is not None and compare(value, bound) != bound:
            side = "below the template's minimum" if key == "min" else "above its maximum"
            messages.append(f"{key} {value} is {side} {bound}.")
    return messages


def _trial_errors(template: str, base_params: dict, plan: list[dict]) -> dict[str, list[str]]:
    from workers.training import validate_params

    errors: dict[str, list[str]] = {}
    for trial in plan:
        _, problems = validate_params(template, {**base_params, **trial})
        for name, messages in problems.items():
            if name in trial and name not in errors:  # base params are reported on their own
                errors[name] = [f"Trial value {trial[name]!r}: {m}" for m in messages]
    return errors


def sweep_check(
    *,
    project: Project,
    dataset_version: DatasetVersion,
    target: str,
    task: str,
    template: str,
    base_params: dict,
    model_name: str,
    space: Any,
    strategy: str,
    max_trials: int,
    max_parallel: int,
    metric: str,
    direction: str,
    seed: int,
) -> tuple[dict, list[dict], str]:
    """Every check of a sweep, all errors at once: (space as stored, plan, direction)."""
    from workers.training.search import plan_trials

    errors: dict[str, Any] = {}
    try:
        check_training_input(
            project=project, dataset_version=dataset_version, target=target, task=task,
            template=template, params=base_params, model_name=model_name,
        )  # fmt: skip
    except ValidationError as exc:
        errors |= {("base_params" if k == "params" else k): v for k, v in exc.detail.items()}
    if strategy not in Strategy.values:
        errors["strategy"] = [f"Choose one of {', '.join(Strategy.values)}."]
    if not 1 <= max_trials <= MAX_TRIALS:
        errors["max_trials"] = [f"Must be from 1 to {MAX_TRIALS}; got {max_trials}."]
    if max_parallel < 1:
        errors["max_parallel"] = ["Must be at least 1."]
    metrics = TASK_METRICS.get(task, ())
    if metric not in metrics:
        errors["metric"] = [
            f"{task} jobs do not report {metric!r}; choose one of {', '.join(metrics)}."
        ]
    if direction and direction not in Direction.values:
        errors["direction"] = ["Choose max or min (or leave it empty for the metric's default)."]
    space, space_errors = _space_errors(template, space)
    plan: list[dict] = []
    if not space_errors and "strategy" not in errors and "max_trials" not in errors:
        plan, space_errors = plan_trials(space, strategy, max_trials, seed)
    if plan and "template" not in errors and "base_params" not in errors:
        space_errors = _trial_errors(template, base_params, plan)
    if space_errors:
        errors["space"] = space_errors
    if errors:
        raise ValidationError(errors)
    return space, plan, direction or default_direction(metric)


@transaction.atomic
def sweep_create(
    *,
    actor: AbstractBaseUser,
    project: Project,
    experiment: str,
    dataset_version: DatasetVersion,
    target: str,
    task: str,
    template: str,
    space: dict,
    metric: str,
    strategy: str = Strategy.GRID,
    max_trials: int = 10,
    max_parallel: int = 1,
    direction: str = "",
    seed: int = 0,
    base_params: dict | None = None,
    model_name: str = "",
    name: str = "",
) -> Sweep:
    base_params = base_params or {}
    model_name = model_name or experiment
    space, plan, direction = sweep_check(
        project=project, dataset_version=dataset_version, target=target, task=task,
        template=template, base_params=base_params, model_name=model_name, space=space,
        strategy=strategy, max_trials=max_trials, max_parallel=max_parallel, metric=metric,
        direction=direction, seed=seed,
    )  # fmt: skip
    sweep = Sweep.objects.create(
        project=project, experiment=_experiment_for(actor=actor, project=project, name=experiment),
        name=name, dataset_version=dataset_version, target=target, task=task, template=template,
        model_name=model_name, base_params=base_params, space=space, strategy=strategy,
        max_trials=max_trials, max_parallel=max_parallel, metric=metric, direction=direction,
        seed=seed, plan=plan, created_by=actor,
    )  # fmt: skip
    audit_record(
        actor=actor, action="sweep.create", obj=sweep, project=project,
        changes={
            "experiment": experiment, "dataset_version": dataset_version.pk, "template": template,
            "strategy": strategy, "trials": len(plan), "max_parallel": max_parallel,
            "metric": metric, "direction": direction, "space": space, "seed": seed,
        },
    )  # fmt: skip
    _launch(sweep, list(range(min(max_parallel, len(plan)))))
    return sweep


def _launch(sweep: Sweep, trials: list[int]) -> None:
    """Each trial is a training job of the sweep's creator; its task is sent on commit."""
    for index in trials:
        training_job_create(
            actor=sweep.created_by, project=sweep.project, experiment=sweep.experiment.name,
            dataset_version=sweep.dataset_version, target=sweep.target, task=sweep.task,
            template=sweep.template, params={**sweep.base_params, **sweep.plan[index]},
            model_name=sweep.model_name, sweep=sweep, trial=index,
        )  # fmt: skip


def sweep_advance(*, sweep_id: int) -> Sweep | None:
    """Launch trials until `max_parallel` are active; end the sweep once every trial has ended.
    Safe to call any number of times, from any process."""
    with transaction.atomic():
        sweep = (
            Sweep.objects.select_for_update(of=("self",))
            .select_related("project", "experiment", "dataset_version", "created_by")
            .filter(pk=sweep_id)
            .first()
        )
        if sweep is None or sweep.status != SweepStatus.RUNNING:
            return sweep
        statuses = dict(TrainingJob.objects.filter(sweep=sweep).values_list("trial", "job__status"))
        active = sum(1 for status in statuses.values() if status in ACTIVE_STATUSES)
        pending = [i for i in range(len(sweep.plan)) if i not in statuses]
        batch = pending[: max(sweep.max_parallel - active, 0)]
        try:
            _launch(sweep, batch)
        except IntegrityError:
            # Only if the row lock was bypassed: the unique (sweep, trial) constraint refused a
            # trial another process launched. Its ending will advance the sweep again.
            log.warning("sweep %s: a trial of %s was already launched", sweep.pk, batch)
            return sweep
        except ValidationError as exc:
            # The inputs were valid at creation; something changed since (a model name taken
            # by another project). Stop here rather than retry on every trial's end.
            reason = "; ".join(_sentences(exc.detail))
            log.warning("sweep %s could not launch trials %s: %s", sweep.pk, batch, reason)
            _end(sweep, SweepStatus.FAILED, reason=f"Could not launch a trial: {reason}")
            return sweep
        if not pending and not active:
            succeeded = JobStatus.SUCCEEDED in statuses.values()
            _end(sweep, SweepStatus.SUCCEEDED if succeeded else SweepStatus.FAILED)
    return sweep


def _sentences(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [f"{k}: {m}" for k, v in detail.items() for m in _sentences(v)]
    if isinstance(detail, list):
        return [m for item in detail for m in _sentences(item)]
    return [str(detail)]


def _end(sweep: Sweep, status: str, *, actor: Any = None, reason: str = "") -> None:
    previous = sweep.status
    sweep.status = status
    sweep.finished_at = timezone.now()
    sweep.save(update_fields=["status", "finished_at"])
    changes: dict[str, Any] = {"status": {"from": previous, "to": status}}
    if reason:
        changes["reason"] = reason[:500]
    audit_record(
        actor=actor, action=f"sweep.{status}", obj=sweep, project=sweep.project, changes=changes
    )


@transaction.atomic
def sweep_cancel(*, actor: AbstractBaseUser, sweep: Sweep) -> Sweep:
    sweep = Sweep.objects.select_for_update(of=("self",)).select_related("project").get(pk=sweep.pk)
    if sweep.status != SweepStatus.RUNNING:
        raise IllegalTransition({"status": [f"A {sweep.status} sweep cannot be cancelled."]})
    _end(sweep, SweepStatus.CANCELLED, actor=actor)
    active = TrainingJob.objects.filter(sweep=sweep, job__status__in=ACTIVE_STATUSES)
    for training in active.select_related("job"):
        with contextlib.suppress(IllegalTransition):  # it ended meanwhile: that stands
            job_cancel(job=training.job, actor=actor)
    return sweep
