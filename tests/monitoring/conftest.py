"""Monitoring test data: a deployed model version trained on a real, processed dataset version
(so the reference is a real training split), and prediction rows written straight to the log.

`monitored` -> Monitored(deployment, version, dataset_version, monitor): model "churn" version 1
in production, trained (TrainingJob params seed 0, validation_fraction 0.2) on `ready_version`
(columns x1, x2 floats, colour red/green/blue, label yes/no, amount; 240 rows, so about 190 in
the training split), deployed as "churn-production" (direct), with a monitor "drift" (window
24 h, min_rows 50, schedule 0 = on demand, no rules: add them in the test).

`feature_rows(n, seed=0, shift=0.0)` -> list of input dicts drawn like the dataset's rows; a
`shift` adds to x1 and x2 and makes every colour "blue" when >= 1, so the window drifts.

`log_predictions(deployment, rows, *, outputs=None, labels=None, at=None, latency_ms=5.0,
errors=0)` bulk-writes PredictionLog rows (served, not shadow) for the deployment's current
stable version; `at` defaults to now (spread over the last minutes); `errors` extra rows with
an error text and no output. Returns the number written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from apps.deployments.models import Deployment, PredictionLog
from apps.experiments.models import TrainingJob
from apps.monitoring.models import Monitor
from apps.registry.models import ModelVersion, Stage
from tests.deployments.conftest import deployment_factory  # noqa: F401
from tests.experiments.conftest import ready_version  # noqa: F401
from tests.registry.conftest import model_version_factory  # noqa: F401


@dataclass
class Monitored:
    deployment: Deployment
    version: ModelVersion
    dataset_version: object
    monitor: Monitor


@pytest.fixture
def monitored(world, ready_version, model_version_factory, deployment_factory):  # noqa: F811
    version = model_version_factory(stage=Stage.PRODUCTION, dataset_version=ready_version)
    TrainingJob.objects.filter(pk=version.training_job_id).update(
        params={"seed": 0, "validation_fraction": 0.2}
    )
    deployment, _ = deployment_factory(
        stable=version, slug="churn-production", environment="production"
    )
    monitor = Monitor.objects.create(
        project=world.alpha, deployment=deployment, name="drift", window_hours=24,
        min_rows=50, schedule_minutes=0, created_by=world.users["alice"],
    )  # fmt: skip
    return Monitored(deployment, version, ready_version, monitor)


def feature_rows(n: int, seed: int = 0, shift: float = 0.0) -> list[dict]:
    rng = np.random.default_rng(seed)
    colours = ["red", "green", "blue"]
    rows = []
    for _ in range(n):
        colour = "blue" if shift >= 1 else colours[int(rng.integers(0, 3))]
        rows.append(
            {
                "x1": round(float(rng.normal()) + shift, 4),
                "x2": round(float(rng.normal()) + shift, 4),
                "colour": colour,
                "amount": round(float(rng.normal()), 4),
            }
        )
    return rows


def log_predictions(deployment: Deployment, rows: list[dict], *, outputs=None, labels=None,
                    at=None, latency_ms: float = 5.0, errors: int = 0) -> int:  # fmt: skip
    revision = deployment.current_revision
    now = at or timezone.now()
    objs = []
    for i, row in enumerate(rows):
        objs.append(
            PredictionLog(
                deployment=deployment,
                revision_id=revision.pk,
                model_version_id=revision.stable_id,
                request_id=f"req-{i}",
                row=0,
                inputs=row,
                output=outputs[i] if outputs is not None else "yes",
                label=labels[i] if labels is not None else None,
                latency_ms=latency_ms,
                created_at=now - timedelta(seconds=len(rows) - i),
            )
        )
    for i in range(errors):
        objs.append(
            PredictionLog(
                deployment=deployment,
                revision_id=revision.pk,
                model_version_id=revision.stable_id,
                request_id=f"err-{i}",
                row=0,
                inputs={},
                output=None,
                error="boom",
                latency_ms=latency_ms,
                created_at=now,
            )
        )
    PredictionLog.objects.bulk_create(objs, batch_size=2000)
    return len(objs)
