"""Cost test data: finished training jobs with a stored cost, written straight with the ORM.

`spend(cost, *, project=None, when=None, model="churn", sweep=None, device="cpu")
-> TrainingJob`: a succeeded training job of `project` (default alpha) that finished at `when`
(default now) and cost `cost`.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import Job
from apps.experiments.models import Experiment, TrainingJob
from tests.registry.conftest import _dataset_version


@pytest.fixture
def spend(world):
    def make(cost, *, project=None, when=None, model: str = "churn", sweep=None,
             device: str = "cpu") -> TrainingJob:  # fmt: skip
        project = project or world.alpha
        when = when or timezone.now()
        experiment, _ = Experiment.objects.get_or_create(project=project, name=model)
        job = Job.objects.create(
            project=project, kind="training.train", status="succeeded",
            started_at=when, finished_at=when, progress=1.0,
        )  # fmt: skip
        return TrainingJob.objects.create(
            job=job, experiment=experiment, dataset_version=_dataset_version(project, model, True),
            target="label", task="classification", template="mlp", model_name=model,
            sweep=sweep, resources={"device": device, "wall_seconds": 60},
            cost=Decimal(str(cost)),
        )  # fmt: skip

    return make
