"""The runs table: MLflow runs mirrored into the portal (external ones included), sorted by any
metric in the database, filtered by parameters, compared; with a real MLflow store."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import mlflow
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from mlflow.entities import Metric, Param

from apps.core.models import AuditEvent
from apps.experiments.models import Experiment, Run
from apps.experiments.services.runs import runs_sync
from apps.experiments.tasks import sync_runs
from tests.celery_worker import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def store() -> mlflow.MlflowClient:
    uri = settings.MLFLOW_TRACKING_URI
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def log_run(client, experiment: str, *, name: str, params=None, metrics=None, steps=1, end=True):
    """A run as a notebook would log it: params, per-step metrics, terminated."""
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    run = client.create_run(experiment_id, run_name=name)
    now = int(time.time() * 1000)
    points = [
        Metric(key, value * (step + 1) / steps, now + step, step)
        for key, value in (metrics or {}).items()
        for step in range(steps)
    ]
    client.log_batch(
        run.info.run_id,
        metrics=points,
        params=[Param(k, str(v)) for k, v in (params or {}).items()],
    )
    if end:
        client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["name"] for r in response.json()["results"]]


def test_an_external_run_appears_in_its_project_only(world, api, store):
    run_id = log_run(store, "alpha/notebook", name="nb-1", params={"lr": 0.1}, metrics={"acc": 0.9})
    log_run(store, "nobody/else", name="orphan", metrics={"acc": 0.1})
    log_run(store, "no-slash", name="plain", metrics={"acc": 0.2})

    result = runs_sync()
    assert result.full and result.runs == 1
    assert result.created_experiments == ["alpha/notebook"]
    assert set(result.unmapped_experiments) >= {"nobody/else", "no-slash"}
    experiment = Experiment.objects.get(project=world.alpha, name="notebook")
    assert (
        experiment.mlflow_experiment_id
        == store.get_experiment_by_name("alpha/notebook").experiment_id
    )
    assert AuditEvent.objects.filter(action="experiment.create", object_id=str(experiment.pk))

    body = api(world.users["vera"]).get("/api/v1/runs/").json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert row["mlflow_run_id"] == run_id and row["external"] is True
    assert row["params"] == {"lr": "0.1"} and row["metrics"] == {"acc": 0.9}
    assert row["project"] == "alpha" and row["experiment_name"] == "notebook"
    assert row["status"] == "FINISHED" and row["training_job"] is None

    assert api(world.users["eve"]).get("/api/v1/runs/").json()["count"] == 0
    assert api(world.users["eve"]).get(f"/api/v1/runs/{row['id']}/").status_code == 404


def test_sorted_by_any_metric_with_missing_values_last(world, api, store):
    for name, acc in (("a", 0.5), ("b", 0.9), ("c", None), ("d", 0.7)):
        metrics = {"loss": 1.0} if acc is None else {"acc": acc, "loss": 1 - acc}
        log_run(store, "alpha/sort", name=name, metrics=metrics, params={"opt": name})
    runs_sync()
    client = api(world.users["vera"])
    assert ids(client.get("/api/v1/runs/?ordering=-metrics.acc")) == ["b", "d", "a", "c"]
    assert ids(client.get("/api/v1/runs/?ordering=metrics.acc")) == ["a", "d", "b", "c"]
    assert ids(client.get("/api/v1/runs/?ordering=metrics.loss")) == ["b", "d", "a", "c"]
    assert ids(client.get("/api/v1/runs/?ordering=-params.opt")) == ["d", "c", "b", "a"]
    # A metric no run has: every run still listed, in a stable order.
    assert len(ids(client.get("/api/v1/runs/?ordering=-metrics.nothing"))) == 4


def test_filters_by_parameter_status_and_source(world, api, store):
    log_run(store, "alpha/f", name="adam-1", params={"optimizer": "adam", "epochs": 5})
    log_run(store, "alpha/f", name="adam-2", params={"optimizer": "adam", "epochs": 9})
    log_run(store, "alpha/f", name="sgd", params={"optimizer": "sgd", "epochs": 5})
    log_run(store, "alpha/f", name="live", params={"optimizer": "adam"}, end=False)
    runs_sync()
    client = api(world.users["vera"])
    url = "/api/v1/runs/?ordering=name"
    assert ids(client.get(f"{url}&param=optimizer:adam")) == ["adam-1", "adam-2", "live"]
    assert ids(client.get(f"{url}&param=optimizer:adam&param=epochs:5")) == ["adam-1"]
    assert ids(client.get(f"{url}&status=RUNNING")) == ["live"]
    assert ids(client.get(f"{url}&status=RUNNING&status=FINISHED")) == [
        "adam-1", "adam-2", "live", "sgd"
    ]  # fmt: skip
    assert ids(client.get(f"{url}&external=false")) == []
    assert ids(client.get(f"{url}&search=ADAM")) == ["adam-1", "adam-2"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("ordering=bogus", "ordering"),
        ("ordering=metrics.", "ordering"),
        ("param=novalue", "param"),
        ("status=DONE", "status"),
        ("experiment=abc", "experiment"),
        ("ordering=%00", "ordering"),
    ],
)
def test_bad_filters_are_400_naming_the_field(world, api, query, field):
    response = api(world.users["vera"]).get(f"/api/v1/runs/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_incremental_sync_picks_up_new_and_finished_runs_and_full_sync_deletes(world, store):
    live = log_run(store, "alpha/inc", name="live", metrics={"acc": 0.1}, end=False)
    gone = log_run(store, "alpha/inc", name="gone", metrics={"acc": 0.3})
    assert runs_sync().full  # nothing mirrored yet: a full sync
    store.log_metric(live, "acc", 0.8, step=2)
    store.set_terminated(live, "FINISHED")
    log_run(store, "alpha/inc", name="new", metrics={"acc": 0.5})
    store.delete_run(gone)

    result = runs_sync()
    assert not result.full
    run = Run.objects.get(mlflow_run_id=live)
    assert run.status == "FINISHED" and run.metrics == {"acc": 0.8}
    assert Run.objects.filter(name="new").exists()
    assert Run.objects.filter(mlflow_run_id=gone).exists()  # only a full sync sees deletions

    assert runs_sync(full=True).deleted == 1
    assert not Run.objects.filter(mlflow_run_id=gone).exists()


def test_a_script_cannot_attach_its_run_to_another_projects_data(world, store, ready_version):
    """Tags are the script's to write: ids pointing outside the run's project are ignored."""
    run_id = log_run(store, "beta/steal", name="x")
    store.set_tag(run_id, "portal.dataset_version_id", str(ready_version.pk))  # alpha's data
    runs_sync()
    run = Run.objects.get(mlflow_run_id=run_id)
    assert run.experiment.project == world.beta and run.dataset_version is None
    own = log_run(store, "alpha/own", name="y")
    store.set_tag(own, "portal.dataset_version_id", str(ready_version.pk))
    runs_sync(full=True)
    assert Run.objects.get(mlflow_run_id=own).dataset_version == ready_version


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_runs_list_and_page_query_count_does_not_grow_with_rows(world, api, client, store):
    for i in range(3):
        log_run(store, "alpha/q", name=f"r{i}", metrics={"acc": i / 10}, params={"i": i})
    runs_sync()
    user = world.users["vera"]
    rest = api(user)
    rest.get("/api/v1/runs/")  # the first use of a token records when it was used
    client.force_login(user)
    url = "/api/v1/runs/?ordering=-metrics.acc&param=i:1"
    small = (_queries(rest, url), _queries(client, "/runs/?ordering=-metrics.acc"))
    for i in range(3, 30):
        log_run(store, "alpha/q", name=f"r{i}", metrics={"acc": i / 100}, params={"i": 1})
    log_run(store, "beta/q", name="other", metrics={"acc": 1})
    runs_sync(full=True)
    assert (_queries(rest, url), _queries(client, "/runs/?ordering=-metrics.acc")) == small


def test_compare_two_runs_flags_differences_and_carries_curves(world, api, store):
    log_run(
        store, "alpha/c", name="one", params={"lr": 0.1, "seed": 1}, metrics={"loss": 0.5}, steps=3
    )
    log_run(
        store, "alpha/c", name="two", params={"lr": 0.2, "seed": 1}, metrics={"loss": 0.3}, steps=3
    )
    log_run(store, "beta/c", name="theirs", metrics={"loss": 0.1})
    runs_sync()
    by_name = {r.name: r.pk for r in Run.objects.all()}
    client = api(world.users["vera"])
    body = client.get(f"/api/v1/runs/compare/?ids={by_name['one']},{by_name['two']}").json()
    assert [r["name"] for r in body["runs"]] == ["one", "two"]
    assert body["params"]["lr"] == {"values": ["0.1", "0.2"], "differs": True}
    assert body["params"]["seed"] == {"values": ["1", "1"], "differs": False}
    assert body["metrics"]["loss"]["best"] == 1  # lower loss is better
    curve = body["histories"][str(by_name["one"])]["loss"]
    assert [step for step, _ in curve] == [0, 1, 2] and curve[-1][1] == pytest.approx(0.5)

    one = f"/api/v1/runs/compare/?ids={by_name['one']}"
    assert client.get(one).json()["ids"]
    theirs = f"/api/v1/runs/compare/?ids={by_name['one']},{by_name['theirs']}"
    assert client.get(theirs).status_code == 400
    eleven = ",".join(str(i) for i in range(1, 12))
    assert client.get(f"/api/v1/runs/compare/?ids={eleven}").status_code == 400


def test_runs_pages_table_compare_and_sync(world, client, store):
    a = log_run(
        store, "alpha/pages", name="alpha-run", params={"lr": 0.1}, metrics={"acc": 0.6}, steps=4
    )
    b = log_run(
        store, "alpha/pages", name="beta-run", params={"lr": 0.3}, metrics={"acc": 0.8}, steps=4
    )
    client.force_login(world.users["vera"])
    assert b"No runs match" in client.get("/runs/").content  # not synced yet
    assert b"Synced 2 runs from 1 experiment." in client.post("/runs/sync/", follow=True).content
    page = client.get("/runs/?ordering=-metrics.acc").content.decode()
    assert page.index("beta-run") < page.index("alpha-run")
    assert "external" in page and 'data-metric="acc"' in page

    first, second = (Run.objects.get(mlflow_run_id=i).pk for i in (a, b))
    page = client.get(f"/runs/compare/?ids={first}&ids={second}").content.decode()
    assert 'class="differs" data-param="lr"' in page
    assert '"acc"' in page  # the curves' data
    assert client.get(f"/runs/{first}/").status_code == 200
    assert client.get("/runs/?ordering=bogus").status_code == 400
    eve = client.get(f"/runs/{first}/")
    client.force_login(world.users["eve"])
    assert client.get(f"/runs/{first}/").status_code == 404 and eve.status_code == 200


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_periodic_sync_task_mirrors_a_notebook_run_on_a_real_worker(world, workers, tmp_path):
    """A plain `mlflow.start_run()` in another process (a notebook), then the task on a worker."""
    script = (
        "import mlflow\n"
        "mlflow.set_experiment('alpha/notebook')\n"
        "with mlflow.start_run(run_name='from-a-notebook'):\n"
        "    mlflow.log_param('alpha', 0.5)\n"
        "    for step in range(3):\n"
        "        mlflow.log_metric('rmse', 1.0 / (step + 1), step=step)\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": settings.MLFLOW_TRACKING_URI}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    worker = workers()
    sync_runs.apply_async(queue="default")
    wait_for(lambda: Run.objects.filter(name="from-a-notebook").exists(), 60, worker.log)
    run = Run.objects.get(name="from-a-notebook")
    assert run.external and run.status == "FINISHED"
    assert run.params == {"alpha": "0.5"} and run.metrics["rmse"] == pytest.approx(1 / 3)
    assert run.experiment.project == world.alpha


def test_the_table_shows_task_metrics_before_bookkeeping():
    from apps.experiments.selectors.runs import metric_keys

    run = Run(metrics={"best_epoch": 3, "zeta": 1, "f1": 0.5, "resources/wall": 2, "accuracy": 1})
    other = Run(metrics={"zeta": 2})
    assert metric_keys([run, other]) == ["zeta", "accuracy", "f1", "best_epoch", "resources/wall"]
