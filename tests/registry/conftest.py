"""Registry test data: model versions with their lineage, built fast (direct rows, no worker).

`model_version_factory(**kwargs) -> ModelVersion` makes one version of a registered model with a
succeeded training job (a core Job row + TrainingJob) and a ready, validated dataset version.

kwargs (all optional):
    project            default: world.alpha
    name               registered model name, default "churn" (created on first use)
    metrics            default {"accuracy": 0.9, "f1": 0.88}
    signature          default: three inputs (x1, x2 double; colour string), target label
    stage              "none" | "staging" | "production" | "archived"; staging/production also
                       write a StageChange row (reason "fixture") so "staged first" holds
    dataset_version    a DatasetVersion to use (e.g. the real `ready_version` fixture); default:
                       one row per registered model, ready, validation_passed as below
    validation_passed  for the default dataset version: True | False | None
    job_status         status of the training's core Job, default "succeeded"
    task               "classification" (default) | "regression"
    training_job       False: no training job at all (cheap bulk rows, e.g. 1,000 versions)
    version            default: next number for that model

It needs the `world` fixture (tests/conftest.py). `ready_version` (a real uploaded and processed
dataset version, tests/experiments/conftest.py) is available here too.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.core.models import Job
from apps.datasets.models import Dataset, DatasetVersion, VersionStatus
from apps.experiments.models import Experiment, TrainingJob
from apps.registry.models import ModelVersion, RegisteredModel, Stage, StageChange
from tests.experiments.conftest import ready_version  # noqa: F401  (a real, processed version)

SIGNATURE = {
    "inputs": [
        {"name": "x1", "type": "double"},
        {"name": "x2", "type": "double"},
        {"name": "colour", "type": "string"},
    ],
    "target": "label",
    "task": "classification",
    "classes": ["no", "yes"],
}
SCHEMA = [
    {"name": "x1", "type": "float", "nullable": False},
    {"name": "x2", "type": "float", "nullable": True},
    {"name": "colour", "type": "string", "nullable": False},
    {"name": "label", "type": "string", "nullable": False},
]


def _dataset_version(project, name: str, validation_passed: bool | None) -> DatasetVersion:
    dataset, _ = Dataset.objects.get_or_create(project=project, name=f"{name}-data")
    number = (dataset.versions.order_by("-version").values_list("version", flat=True).first()) or 0
    return DatasetVersion.objects.create(
        dataset=dataset,
        version=number + 1,
        status=VersionStatus.READY,
        content_hash=uuid.uuid4().hex,
        size_bytes=1000,
        format="csv",
        filename="data.csv",
        row_count=240,
        column_count=len(SCHEMA),
        schema=SCHEMA,
        profile={},
        validation=[],
        validation_passed=validation_passed,
        processed_at=timezone.now(),
    )


@pytest.fixture
def model_version_factory(world):
    def make(
        *,
        project=None,
        name: str = "churn",
        metrics: dict[str, float] | None = None,
        signature: dict[str, Any] | None = None,
        stage: str = Stage.NONE,
        dataset_version: DatasetVersion | None = None,
        validation_passed: bool | None = True,
        job_status: str = "succeeded",
        task: str = "classification",
        training_job: bool = True,
        version: int | None = None,
    ) -> ModelVersion:
        project = project or world.alpha
        model, _ = RegisteredModel.objects.get_or_create(name=name, defaults={"project": project})
        if dataset_version is None:
            dataset_version = _dataset_version(project, name, validation_passed)
        if version is None:
            last = model.versions.order_by("-version").values_list("version", flat=True).first()
            version = (last or 0) + 1
        training = None
        if training_job:
            experiment, _ = Experiment.objects.get_or_create(project=project, name=name)
            now = timezone.now()
            job = Job.objects.create(
                project=project, kind="training.train", status=job_status,
                started_at=now, finished_at=now, progress=1.0,
            )  # fmt: skip
            training = TrainingJob.objects.create(
                job=job, experiment=experiment, dataset_version=dataset_version,
                target="label", task=task, template="mlp", params={}, model_name=name,
                metrics=metrics if metrics is not None else {"accuracy": 0.9, "f1": 0.88},
            )  # fmt: skip
        row = ModelVersion.objects.create(
            registered_model=model,
            version=version,
            mlflow_run_id=uuid.uuid4().hex,
            source=f"models:/{name}/{version}",
            training_job=training,
            dataset_version=dataset_version,
            metrics=metrics if metrics is not None else {"accuracy": 0.9, "f1": 0.88},
            signature=signature if signature is not None else SIGNATURE,
            stage=stage,
            stage_changed_at=timezone.now() if stage != Stage.NONE else None,
        )
        # A production version went through staging first, a minute earlier: replaying the
        # history puts it in staging, then in production.
        now = timezone.now()
        if stage == Stage.PRODUCTION:
            StageChange.objects.create(
                model_version=row, from_stage=Stage.NONE, to_stage=Stage.STAGING,
                reason="fixture", at=now - timedelta(minutes=1),
            )  # fmt: skip
        if stage in (Stage.STAGING, Stage.PRODUCTION):
            previous = Stage.STAGING if stage == Stage.PRODUCTION else Stage.NONE
            StageChange.objects.create(
                model_version=row, from_stage=previous, to_stage=stage, reason="fixture", at=now,
            )  # fmt: skip
        return row

    return make
