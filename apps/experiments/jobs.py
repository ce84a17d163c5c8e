"""The training job kind: runs workers.training on the `gpu` queue and reports back per epoch."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from rest_framework import serializers

from apps.core.jobs import JobContext, register_job_kind
from apps.core.services.jobs import job_report_progress
from apps.datasets import storage
from apps.experiments import services
from apps.experiments.models import TrainingJob
from apps.experiments.services.runs import run_mirror

log = logging.getLogger(__name__)


class TrainParams(serializers.Serializer):
    training_job_id = serializers.IntegerField(min_value=1, required=False)


def _on_unsuccessful_end(job: Any, reason: str) -> None:
    """A reaped or cancelled-before-start job: close its MLflow run so it does not stay RUNNING."""
    training = TrainingJob.objects.filter(job=job).first()
    if training is None or not training.mlflow_run_id:
        return
    try:
        from apps.core.mlflow_store import tracking_client

        run = tracking_client().get_run(training.mlflow_run_id)
        if run.info.status == "RUNNING":
            status = "KILLED" if job.status == "cancelled" else "FAILED"
            tracking_client().set_terminated(training.mlflow_run_id, status)
    except Exception:  # the tracking store being down must not block the job's own ending
        log.exception("could not close MLflow run %s", training.mlflow_run_id)


def _on_end(job: Any, reason: str) -> None:
    """A sweep's trial ended (however it ended): the sweep launches its next trial or ends.
    On commit, so the sweep counts this job as ended; robust, so a failure there is logged
    and never undoes the job's own ending."""
    sweep_id = TrainingJob.objects.filter(job=job).values_list("sweep_id", flat=True).first()
    if sweep_id is not None:
        transaction.on_commit(lambda: services.sweep_advance(sweep_id=sweep_id), robust=True)


@register_job_kind(
    "training.train",
    queue="gpu",
    params=TrainParams,
    on_unsuccessful_end=_on_unsuccessful_end,
    on_end=_on_end,
)
def train_model(ctx: JobContext) -> dict[str, Any]:
    """Trains a model template on a dataset version and registers it in MLflow."""
    from workers.training import Callbacks, TrainSpec, train

    training = TrainingJob.objects.select_related(
        "experiment__project", "dataset_version__dataset"
    ).get(job_id=ctx.job_id)
    version = training.dataset_version
    path = storage.blob_verify(version.content_hash)
    lines: list[str] = []

    def on_epoch(epoch: int, epochs: int, metrics: dict[str, float]) -> None:
        services.training_job_record_epoch(
            training_id=training.pk,
            epoch=epoch,
            epochs=epochs,
            metrics=metrics,
            log_lines="".join(lines),
        )
        lines.clear()
        # Also a heartbeat. A cancelled (or reaped) job only raises the flag here: training
        # stops at the next batch boundary and ends its MLflow run as KILLED itself.
        if not job_report_progress(
            job_id=ctx.job_id, fraction=epoch / max(epochs, 1), message=f"epoch {epoch}/{epochs}"
        ):
            ctx.cancelled = True

    spec = TrainSpec(
        data_path=path,
        data_format=version.format,
        target=training.target,
        task=training.task,
        template=training.template,
        params=training.params,
        experiment=training.experiment.mlflow_name,
        model_name=training.model_name,
        tracking_uri=settings.MLFLOW_TRACKING_URI,
        artifact_root=str(Path(settings.ARTIFACT_ROOT).resolve()),
        tags={
            "portal.job_id": str(ctx.job_id),
            "portal.training_job_id": str(training.pk),
            "portal.project": training.experiment.project.slug,
            "portal.dataset_version_id": str(version.pk),
            "portal.dataset_hash": version.content_hash,
        },
        run_name=f"portal-job-{training.pk}",
    )
    callbacks = Callbacks(
        on_epoch=on_epoch,
        should_stop=lambda: ctx.cancelled,
        log=lambda line: lines.append(line.rstrip("\n") + "\n"),
        on_run_started=lambda run_id: services.training_job_started(
            training_id=training.pk, run_id=run_id
        ),
    )
    result = train(spec, callbacks)
    services.training_job_complete(training_id=training.pk, result=result, log_lines="".join(lines))
    run_mirror(run_id=result.mlflow_run_id)  # the runs table shows it now, not at the next sync
    ctx.check_cancelled()
    return {"training_job_id": training.pk, "status": result.status, "metrics": result.metrics}
