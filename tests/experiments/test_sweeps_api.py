"""Sweeps through the API and the services, without a worker: job rows, launches, endings."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.models import AuditEvent, Job
from apps.core.services.jobs import _finish, job_cancel, job_start
from apps.experiments import services
from apps.experiments.models import Sweep, TrainingJob
from tests.datasets.conftest import process, upload

pytestmark = pytest.mark.django_db


def body(version, **overrides):
    return {
        "project": "alpha",
        "experiment": "churn",
        "dataset_version": version.pk,
        "target": "label",
        "task": "classification",
        "template": "mlp",
        "base_params": {"epochs": 3},
        "space": {"learning_rate": [0.001, 0.01, 0.1]},
        "strategy": "grid",
        "max_trials": 10,
        "max_parallel": 2,
        "metric": "accuracy",
        **overrides,
    }


@pytest.fixture
def sent(monkeypatch):
    """Tasks the services send, recorded instead of reaching a broker."""
    from apps.core.tasks import run_job

    calls = []
    monkeypatch.setattr(run_job, "apply_async", lambda args, **kw: calls.append(args[0]))
    return calls


def create(api, world, version, **overrides) -> dict:
    response = api(world.users["carl"]).post("/api/v1/sweeps/", body(version, **overrides))
    assert response.status_code == 201, response.content
    return response.json()


def trial(sweep_id: int, index: int) -> TrainingJob:
    return TrainingJob.objects.select_related("job").get(sweep_id=sweep_id, trial=index)


def end(capture, training: TrainingJob, status: str, **metrics) -> None:
    """End a trial through the core job services, running what they defer to the commit."""
    TrainingJob.objects.filter(pk=training.pk).update(metrics=metrics)
    with capture(execute=True):
        if status == "cancelled":
            job_cancel(job=training.job, actor=None)
        else:
            job_start(job_id=training.job_id, worker="test")
            _finish(training.job_id, status, error="boom" if status == "failed" else "")


def test_creating_launches_max_parallel_trials(world, api, ready_version):
    data = create(api, world, ready_version)
    assert data["status"] == "running" and data["direction"] == "max"
    assert data["plan"] == [{"learning_rate": r} for r in (0.001, 0.01, 0.1)]
    assert data["progress"] == {
        "planned": 3, "launched": 2, "queued": 2, "running": 0, "succeeded": 0, "failed": 0,
        "cancelled": 0,
    }  # fmt: skip
    trials = TrainingJob.objects.filter(sweep_id=data["id"]).select_related("job").order_by("trial")
    assert [t.trial for t in trials] == [0, 1]
    assert [t.params["learning_rate"] for t in trials] == [0.001, 0.01]
    assert all(t.params["epochs"] == 3 and t.job.status == "queued" for t in trials)
    assert {row["trial"] for row in data["leaderboard"]} == {0, 1} and data["best"] is None
    assert AuditEvent.objects.filter(action="sweep.create", object_id=str(data["id"])).exists()


def test_direction_defaults_by_metric(world, api, ready_version):
    assert create(api, world, ready_version, metric="val_loss")["direction"] == "min"
    assert create(api, world, ready_version, metric="log_loss", direction="max")["direction"] == (
        "max"
    )


@pytest.mark.parametrize(
    "overrides,field,fragment",
    [
        ({"space": {"no_such_param": [1, 2]}}, "space", "Unknown parameter"),
        ({"space": {"dropout": {"min": 0, "max": 2}}}, "space", "above its maximum"),
        ({"space": {"optimizer": ["adam", "rmsprop"]}}, "space", "rmsprop"),
        ({"space": {"optimizer": {"min": 0, "max": 1}}}, "space", "list of values"),
        ({"space": {"dropout": {"min": 0, "max": 0.5, "scale": "log"}}}, "space", "min > 0"),
        ({"space": {"dropout": [0.1, 0.2, 0.3]}, "max_trials": 2}, "space", "3 combinations"),
        ({"space": {}}, "space", ""),
        ({"space": {"hidden_layers": {"min": 1, "max": 3}}}, "space", "list of values"),
        ({"space": {"epochs": {"min": 1, "max": 3, "steps": 10**20}}}, "space", "steps"),
        ({"space": {"lr\u0000": [1]}}, "space", "Unknown parameter"),
        ({"space": {"learning_rate": {"min": 1e-300, "max": 1e300}}}, "space", "minimum"),
        ({"metric": "rmse"}, "metric", "do not report"),
        ({"metric": "accuracy", "task": "regression", "target": "amount"}, "metric", "rmse"),
        ({"base_params": {"epochs": 0}}, "base_params", ""),
        ({"template": "transformer"}, "template", ""),
        ({"target": "nope"}, "target", ""),
        ({"max_trials": 0}, "max_trials", ""),
        ({"max_trials": 10_000}, "max_trials", ""),
        ({"max_parallel": 0}, "max_parallel", ""),
        ({"strategy": "bayes"}, "strategy", ""),
        ({"direction": "up"}, "direction", ""),
        ({"dataset_version": 999999}, "dataset_version", ""),
    ],
)
def test_bad_input_is_refused_before_anything_is_stored(
    world, api, ready_version, overrides, field, fragment
):
    response = api(world.users["carl"]).post("/api/v1/sweeps/", body(ready_version, **overrides))
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert fragment in str(response.json()[field])
    assert not Sweep.objects.exists() and not Job.objects.filter(kind="training.train").exists()


def test_a_version_that_is_not_ready_is_refused(world, api, dataset):
    failed = process(upload(api(world.users["carl"]), dataset.pk, "a,b\n1,2\n3,4,5\n").json()["id"])
    response = api(world.users["carl"]).post("/api/v1/sweeps/", body(failed, target="a"))
    assert response.status_code == 400 and "not ready" in response.json()["dataset_version"][0]


def test_permissions(world, api, ready_version):
    assert api(world.users["vera"]).post("/api/v1/sweeps/", body(ready_version)).status_code == 403
    assert api(world.users["eve"]).post("/api/v1/sweeps/", body(ready_version)).status_code == 400
    data = create(api, world, ready_version)
    assert api(world.users["eve"]).get(f"/api/v1/sweeps/{data['id']}/").status_code == 404
    assert api(world.users["eve"]).get("/api/v1/sweeps/").json()["count"] == 0
    assert api(world.users["vera"]).get(f"/api/v1/sweeps/{data['id']}/").status_code == 200
    assert api(world.users["vera"]).post(f"/api/v1/sweeps/{data['id']}/cancel/").status_code == 403


def test_each_ending_launches_the_next_trial_until_the_sweep_ends(
    world, api, ready_version, sent, django_capture_on_commit_callbacks
):
    sweep_id = create(api, world, ready_version, max_parallel=1)["id"]
    assert TrainingJob.objects.filter(sweep_id=sweep_id).count() == 1
    end(django_capture_on_commit_callbacks, trial(sweep_id, 0), "succeeded", accuracy=0.8)
    assert TrainingJob.objects.filter(sweep_id=sweep_id).count() == 2
    assert sent == [trial(sweep_id, 1).job_id]  # sent once its row was committed
    services.sweep_advance(sweep_id=sweep_id)  # idempotent: nothing more to launch
    assert TrainingJob.objects.filter(sweep_id=sweep_id).count() == 2
    end(django_capture_on_commit_callbacks, trial(sweep_id, 1), "failed")
    end(django_capture_on_commit_callbacks, trial(sweep_id, 2), "cancelled")
    sweep = Sweep.objects.get(pk=sweep_id)
    assert sweep.status == "succeeded" and sweep.finished_at is not None
    assert AuditEvent.objects.filter(action="sweep.succeeded", object_id=str(sweep_id)).exists()


def test_a_sweep_without_a_succeeded_trial_fails(
    world, api, ready_version, sent, django_capture_on_commit_callbacks
):
    sweep_id = create(api, world, ready_version, space={"learning_rate": [0.01]})["id"]
    end(django_capture_on_commit_callbacks, trial(sweep_id, 0), "failed")
    assert Sweep.objects.get(pk=sweep_id).status == "failed"


def test_cancelling_cancels_the_active_trials_once(
    world, api, ready_version, sent, django_capture_on_commit_callbacks
):
    carl = api(world.users["carl"])
    sweep_id = create(api, world, ready_version)["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = carl.post(f"/api/v1/sweeps/{sweep_id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["progress"]["cancelled"] == 2
    assert TrainingJob.objects.filter(sweep_id=sweep_id).count() == 2  # nothing new launched
    assert carl.post(f"/api/v1/sweeps/{sweep_id}/cancel/").status_code == 409


def test_the_leaderboard_ranks_succeeded_trials_by_the_metric(
    world, api, ready_version, sent, django_capture_on_commit_callbacks
):
    space = {"learning_rate": [0.001, 0.01, 0.1, 0.2]}
    sweep_id = create(api, world, ready_version, space=space, max_parallel=4, metric="val_loss")[
        "id"
    ]
    end(django_capture_on_commit_callbacks, trial(sweep_id, 0), "succeeded", val_loss=0.5)
    end(django_capture_on_commit_callbacks, trial(sweep_id, 1), "succeeded", val_loss=0.2)
    end(django_capture_on_commit_callbacks, trial(sweep_id, 2), "cancelled", val_loss=0.01)
    data = api(world.users["vera"]).get(f"/api/v1/sweeps/{sweep_id}/").json()
    assert [row["trial"] for row in data["leaderboard"]] == [1, 0, 2, 3]
    assert [row["rank"] for row in data["leaderboard"]] == [1, 2, None, None]
    assert data["leaderboard"][2]["metric_value"] == 0.01  # shown, but not ranked
    assert data["best"]["trial"] == 1 and data["best"]["params"] == {"learning_rate": 0.01}
    assert data["best"]["training_job"] == trial(sweep_id, 1).pk


def test_a_trial_that_can_no_longer_launch_ends_the_sweep(
    world, api, ready_version, sent, django_capture_on_commit_callbacks
):
    from apps.registry.models import RegisteredModel

    sweep_id = create(api, world, ready_version, max_parallel=1)["id"]
    RegisteredModel.objects.create(project=world.beta, name="churn")  # taken meanwhile
    end(django_capture_on_commit_callbacks, trial(sweep_id, 0), "succeeded", accuracy=0.9)
    assert Sweep.objects.get(pk=sweep_id).status == "failed"
    assert TrainingJob.objects.filter(sweep_id=sweep_id).count() == 1
    event = AuditEvent.objects.get(action="sweep.failed", object_id=str(sweep_id))
    assert "another project" in event.changes["reason"]


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_trials(world, api, ready_version, django_assert_num_queries):
    client = api(world.users["vera"])
    small = create(api, world, ready_version, space={"learning_rate": [0.01]})["id"]
    many = [0.001 * (i + 1) for i in range(12)]
    large = create(
        api, world, ready_version, space={"learning_rate": many}, max_parallel=12, max_trials=12
    )["id"]
    assert TrainingJob.objects.filter(sweep_id=large).count() == 12
    client.get("/api/v1/sweeps/")  # the first use of a token also records when it was used
    detail = _queries(client, f"/api/v1/sweeps/{small}/")
    with django_assert_num_queries(detail):
        client.get(f"/api/v1/sweeps/{large}/")
    listed = _queries(client, "/api/v1/sweeps/?project=alpha")
    create(api, world, ready_version, space={"learning_rate": many[:5]}, max_parallel=5)
    with django_assert_num_queries(listed):
        response = client.get("/api/v1/sweeps/?project=alpha&status=running")
    assert response.json()["count"] == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_advances_launch_each_trial_once(world, api, ready_version, sent):
    space = {"learning_rate": [0.001 * (i + 1) for i in range(6)]}
    sweep_id = create(api, world, ready_version, space=space, max_parallel=2)["id"]
    # Both active trials end at once; four processes advance the sweep at the same moment.
    Job.objects.filter(training__sweep_id=sweep_id).update(status="succeeded")
    barrier = threading.Barrier(4)

    def advance() -> None:
        barrier.wait()
        try:
            services.sweep_advance(sweep_id=sweep_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=advance) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trials = TrainingJob.objects.filter(sweep_id=sweep_id).order_by("trial")
    assert list(trials.values_list("trial", flat=True)) == [0, 1, 2, 3]
    assert len(sent) == 4
    assert Sweep.objects.get(pk=sweep_id).status == "running"


def test_the_periodic_check_advances_a_sweep_whose_advance_was_lost(
    world, api, ready_version, sent, django_capture_on_commit_callbacks
):
    """A trial ended but its process died before the on-commit advance ran: beat's check
    launches the next trial all the same."""
    from apps.experiments.tasks import advance_sweeps

    sweep = create(api, world, ready_version, max_parallel=1)
    first = trial(sweep["id"], 0)
    # The job ends without its hooks (as if the process died right after the commit).
    Job.objects.filter(pk=first.job_id).update(status="succeeded")
    assert TrainingJob.objects.filter(sweep_id=sweep["id"]).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert advance_sweeps() == [sweep["id"]]
    assert trial(sweep["id"], 1).job.status == "queued"
    assert trial(sweep["id"], 1).job_id in sent
