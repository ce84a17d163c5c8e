"""Training jobs: create (every check before anything is queued), progress, completion."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from apps.core.models import Job, Project
from apps.core.services.audit import audit_record
from apps.core.services.jobs import job_cancel, job_create
from apps.datasets.models import DatasetVersion, VersionStatus
from apps.experiments.models import Experiment, Sweep, Task, TrainingJob
from apps.registry.models import ModelVersion, RegisteredModel

LOG_TAIL_CHARS = 20_000


def _experiment_for(*, actor: AbstractBaseUser, project: Project, name: str) -> Experiment:
    try:
        with transaction.atomic():
            experiment, created = Experiment.objects.get_or_create(
                project=project, name=name, defaults={"created_by": actor}
            )
    except IntegrityError:  # created concurrently by another request: use that one
        experiment, created = Experiment.objects.get(project=project, name=name), False
    if created:
        audit_record(
            actor=actor, action="experiment.create", obj=experiment, project=project,
            changes={"name": name},
        )  # fmt: skip
    return experiment


def check_training_input(
    *,
    project: Project,
    dataset_version: DatasetVersion,
    target: str,
    task: str,
    template: str,
    params: dict,
    model_name: str,
) -> dict:
    """Field-level checks done before anything is stored or queued; returns cleaned params."""
    from workers.training import validate_params

    errors: dict[str, Any] = {}
    if dataset_version.dataset.project_id != project.pk:
        errors["dataset_version"] = ["This dataset version belongs to another project."]
    elif dataset_version.status != VersionStatus.READY:
        errors["dataset_version"] = [
            f"Version {dataset_version.version} of {dataset_version.dataset.name} is "
            f"{dataset_version.status}, not ready: only ready versions can be trained on."
        ]
    else:
        columns = {c["name"]: c["type"] for c in dataset_version.schema}
        if target not in columns:
            errors["target"] = [
                f"'{target}' is not a column of this dataset version; columns: "
                f"{', '.join(sorted(columns)[:30])}."
            ]
        elif task == Task.REGRESSION and columns[target] not in ("integer", "float"):
            errors["target"] = [f"'{target}' is {columns[target]}; regression needs numbers."]
    cleaned, param_errors = validate_params(template, params)
    if "template" in param_errors:
        errors["template"] = param_errors.pop("template")
    if param_errors:
        errors["params"] = param_errors
    owner = RegisteredModel.objects.filter(name=model_name).exclude(project=project).first()
    if owner is not None:
        errors["model_name"] = [f"'{model_name}' is a registered model of another project."]
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def training_job_create(
    *,
    actor: AbstractBaseUser,
    project: Project,
    experiment: str,
    dataset_version: DatasetVersion,
    target: str,
    task: str,
    template: str,
    params: dict | None = None,
    model_name: str = "",
    rerun_of: TrainingJob | None = None,
    sweep: Sweep | None = None,
    trial: int | None = None,
) -> TrainingJob:
    model_name = model_name or experiment
    cleaned = check_training_input(
        project=project,
        dataset_version=dataset_version,
        target=target,
        task=task,
        template=template,
        params=params or {},
        model_name=model_name,
    )
    exp = _experiment_for(actor=actor, project=project, name=experiment)
    # The job row first, its task sent on commit; the training row points at it.
    job = job_create(project=project, kind="training.train", params={}, actor=actor)
    training = TrainingJob.objects.create(
        job=job,
        experiment=exp,
        dataset_version=dataset_version,
        target=target,
        task=task,
        template=template,
        params=cleaned,
        model_name=model_name,
        epochs=cleaned.get("epochs", 0),
        rerun_of=rerun_of,
        sweep=sweep,
        trial=trial,
        created_by=actor,
    )
    Job.objects.filter(pk=job.pk).update(params={"training_job_id": training.pk})
    audit_record(
        actor=actor,
        action="training_job.create",
        obj=training,
        project=project,
        changes={
            "experiment": experiment,
            "dataset_version": dataset_version.pk,
            "target": target,
            "task": task,
            "template": template,
            "params": cleaned,
            "model_name": model_name,
            "rerun_of": rerun_of.pk if rerun_of else None,
            **({"sweep": sweep.pk, "trial": trial} if sweep is not None else {}),
        },
    )
    return training


def training_job_rerun(*, actor: AbstractBaseUser, training: TrainingJob) -> TrainingJob:
    return training_job_create(
        actor=actor,
        project=training.experiment.project,
        experiment=training.experiment.name,
        dataset_version=training.dataset_version,
        target=training.target,
        task=training.task,
        template=training.template,
        params=training.params,
        model_name=training.model_name,
        rerun_of=training,
    )


def training_job_cancel(*, actor: AbstractBaseUser, training: TrainingJob) -> TrainingJob:
    job_cancel(job=training.job, actor=actor)
    training.refresh_from_db()
    return training


def training_job_started(*, training_id: int, run_id: str) -> None:
    from apps.experiments.services.runs import run_mirror

    TrainingJob.objects.filter(pk=training_id).update(mlflow_run_id=run_id)
    run_mirror(run_id=run_id)


def training_job_record_epoch(
    *, training_id: int, epoch: int, epochs: int, metrics: dict[str, float], log_lines: str
) -> None:
    """One write per epoch: the live page reads current_epoch, history and the log tail."""
    training = TrainingJob.objects.only("history", "log_tail").get(pk=training_id)
    history = [*training.history, {"epoch": epoch, **metrics}]
    tail = (training.log_tail + log_lines)[-LOG_TAIL_CHARS:]
    TrainingJob.objects.filter(pk=training_id).update(
        current_epoch=epoch, epochs=epochs, history=history, log_tail=tail
    )


def _cost(resources: dict) -> Decimal:
    # The admin-editable rate table; devices without a row keep the COST_PER_HOUR_* settings.
    from apps.costs.rates import training_cost

    return training_cost(resources)


@transaction.atomic
def training_job_complete(*, training_id: int, result: Any, log_lines: str = "") -> TrainingJob:
    """Store the outcome and, for a finished run, the registered model version with its
    lineage (training job → MLflow run → model version → dataset version)."""
    training = (
        TrainingJob.objects.select_for_update()
        .select_related("experiment__project", "dataset_version")
        .get(pk=training_id)
    )
    training.mlflow_run_id = result.mlflow_run_id
    training.metrics = result.metrics
    training.history = result.history
    training.resources = result.resources
    training.cost = _cost(result.resources)
    training.current_epoch = result.epochs_run
    training.log_tail = (training.log_tail + log_lines)[-LOG_TAIL_CHARS:]
    training.save()
    project = training.experiment.project
    if result.status == "finished" and result.registered_model_version:
        model, _ = RegisteredModel.objects.get_or_create(
            name=result.registered_model_name, defaults={"project": project}
        )
        version = ModelVersion.objects.create(
            registered_model=model,
            version=int(result.registered_model_version),
            mlflow_run_id=result.mlflow_run_id,
            source=result.model_uri or "",
            training_job=training,
            dataset_version=training.dataset_version,
            metrics=result.metrics,
            signature=result.signature,
        )
        audit_record(
            actor=None,
            action="model_version.create",
            obj=version,
            project=project,
            changes={
                "name": model.name,
                "version": version.version,
                "training_job": training.pk,
                "dataset_version": training.dataset_version_id,
                "mlflow_run_id": result.mlflow_run_id,
            },
        )
    audit_record(
        actor=None,
        action=f"training_job.{result.status}",
        obj=training,
        project=project,
        changes={"metrics": result.metrics, "cost": str(training.cost)},
    )
    return training
