"""The sweep pages: list, the form (errors on their fields), a sweep's page, cancel."""

import json

import pytest
from django.test import Client

from apps.experiments import services
from apps.experiments.models import Sweep, TrainingJob

pytestmark = pytest.mark.django_db

POLLING = 'hx-trigger="every 3s"'


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sweep(world, ready_version) -> Sweep:
    return services.sweep_create(
        actor=world.users["carl"],
        project=world.alpha,
        experiment="churn",
        dataset_version=ready_version,
        target="label",
        task="classification",
        template="mlp",
        base_params={"epochs": 2},
        space={"learning_rate": [0.001, 0.01, 0.1]},
        strategy="grid",
        max_trials=5,
        max_parallel=2,
        metric="accuracy",
        name="lr <search>",
    )


def form_data(version, **overrides) -> dict:
    return {
        "project": "alpha",
        "experiment": "churn",
        "dataset_version": version.pk,
        "target": "label",
        "task": "classification",
        "template": "mlp",
        "strategy": "random",
        "max_trials": 3,
        "max_parallel": 1,
        "metric": "accuracy",
        "direction": "",
        "seed": 1,
        "base_params": '{"epochs": 2}',
        "space": json.dumps({"dropout": {"min": 0, "max": 0.5}}),
        **overrides,
    }


def test_the_list_shows_sweeps_of_my_projects_only(world, sweep):
    page = client_for(world.users["vera"]).get("/sweeps/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="/sweeps/{sweep.pk}/"' in html and "lr &lt;search&gt;" in html
    assert "0/3" in html  # ended of planned trials
    assert "New sweep" not in html  # vera is a viewer
    assert (
        f"/sweeps/{sweep.pk}/"
        not in client_for(world.users["eve"]).get("/sweeps/").content.decode()
    )
    filtered = client_for(world.users["carl"]).get("/sweeps/?status=succeeded").content.decode()
    assert f"/sweeps/{sweep.pk}/" not in filtered


def test_the_form_comes_with_an_example_space(world, ready_version):
    html = client_for(world.users["carl"]).get("/sweeps/new/?project=alpha").content.decode()
    assert 'name="space"' in html and "learning_rate" in html and "log" in html
    assert f'value="{ready_version.pk}"' in html


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"space": '{"no_such": [1, 2]}'}, "space", "no_such: Unknown parameter"),
        ({"space": '{"dropout": '}, "space", "Not valid JSON"),
        ({"metric": "rmse"}, "metric", "do not report"),
        ({"base_params": '{"epochs": 0}'}, "base_params", "at least 1"),
    ],
)
def test_errors_are_shown_on_their_fields(world, ready_version, overrides, field, message):
    page = client_for(world.users["carl"]).post(
        "/sweeps/new/", form_data(ready_version, **overrides)
    )
    assert page.status_code == 200
    html = page.content.decode()
    start = html.index(f'id="field-{field}"')
    assert message in html[start : html.index("</div>", start)]
    assert not Sweep.objects.exists()


def test_a_valid_form_starts_the_sweep(world, ready_version):
    page = client_for(world.users["carl"]).post("/sweeps/new/", form_data(ready_version))
    sweep = Sweep.objects.get()
    assert page.status_code == 302 and page["Location"] == f"/sweeps/{sweep.pk}/"
    assert len(sweep.plan) == 3 and sweep.trials.count() == 1 and sweep.direction == "max"


def test_a_viewer_cannot_start_one(world, ready_version):
    page = client_for(world.users["vera"]).post("/sweeps/new/", form_data(ready_version))
    assert page.status_code == 403


def test_the_sweep_page_polls_while_running_and_links_its_trials(world, sweep):
    html = client_for(world.users["carl"]).get(f"/sweeps/{sweep.pk}/").content.decode()
    assert POLLING in html and 'id="sweep-chart"' in html and "vendor/plotly/plotly.min.js" in html
    for training in sweep.trials.all():
        assert f'href="/training-jobs/{training.pk}/"' in html
    assert "learning_rate=0.001" in html
    assert f'action="/sweeps/{sweep.pk}/cancel/"' in html
    viewer = client_for(world.users["vera"]).get(f"/sweeps/{sweep.pk}/live/").content.decode()
    assert POLLING in viewer and "/cancel/" not in viewer
    assert client_for(world.users["eve"]).get(f"/sweeps/{sweep.pk}/").status_code == 404


def test_a_trial_page_links_back_to_its_sweep(world, sweep):
    training = TrainingJob.objects.get(sweep=sweep, trial=0)
    html = client_for(world.users["vera"]).get(f"/training-jobs/{training.pk}/").content.decode()
    assert f'href="/sweeps/{sweep.pk}/"' in html


def test_cancel_from_the_page(world, sweep):
    carl = client_for(world.users["carl"])
    assert client_for(world.users["vera"]).post(f"/sweeps/{sweep.pk}/cancel/").status_code == 403
    response = carl.post(f"/sweeps/{sweep.pk}/cancel/")
    assert response.status_code == 302
    sweep.refresh_from_db()
    assert sweep.status == "cancelled"
    assert all(t.job.status == "cancelled" for t in sweep.trials.select_related("job"))
    html = carl.get(f"/sweeps/{sweep.pk}/").content.decode()
    assert POLLING not in html and f'action="/sweeps/{sweep.pk}/cancel/"' not in html
