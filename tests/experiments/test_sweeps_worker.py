"""A sweep end to end on a real Celery worker on Redis: each trial's ending launches the next."""

import pytest

from apps.core.models import AuditEvent
from apps.experiments.models import Sweep, TrainingJob
from tests.celery_worker import wait_for
from tests.experiments.test_sweeps_api import body

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_a_two_trial_grid_runs_one_at_a_time_and_succeeds(world, api, ready_version, workers):
    worker = workers()
    overrides = {
        "template": "linear",
        "base_params": {"epochs": 3, "seed": 7, "device": "cpu"},
        "space": {"learning_rate": [0.0001, 0.05]},
        "max_parallel": 1,
        "metric": "accuracy",
    }
    response = api(world.users["carl"]).post("/api/v1/sweeps/", body(ready_version, **overrides))
    assert response.status_code == 201, response.content
    sweep_id = response.json()["id"]

    def state() -> str:
        return Sweep.objects.values_list("status", flat=True).get(pk=sweep_id)

    wait_for(lambda: state() != "running", 240, worker.log)
    assert state() == "succeeded", worker.log()

    trials = list(
        TrainingJob.objects.filter(sweep_id=sweep_id).select_related("job").order_by("trial")
    )
    assert [t.trial for t in trials] == [0, 1]
    assert all(t.job.status == "succeeded" and "accuracy" in t.metrics for t in trials)
    # max_parallel 1: the second trial was created once the first had ended.
    assert trials[1].job.created_at >= trials[0].job.finished_at

    data = api(world.users["vera"]).get(f"/api/v1/sweeps/{sweep_id}/").json()
    assert data["progress"]["succeeded"] == 2 and data["finished_at"]
    values = [row["metric_value"] for row in data["leaderboard"]]
    assert values == sorted(values, reverse=True) and None not in values
    assert data["best"]["metric_value"] == max(values)
    assert AuditEvent.objects.filter(action="sweep.succeeded", object_id=str(sweep_id)).exists()
