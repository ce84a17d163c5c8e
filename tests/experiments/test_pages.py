"""The training pages: launch form, job page with live part, cancel and rerun, Experiments page,
and the "Used by" card of a dataset version."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.models import Job, JobStatus
from apps.datasets.models import DatasetVersion, VersionStatus
from apps.datasets.services import dataset_create
from apps.experiments import services
from apps.experiments.forms import param_text
from apps.experiments.models import Experiment, TrainingJob
from workers.training import param_schema, template_names, validate_params

pytestmark = pytest.mark.django_db

POLLING = 'hx-trigger="every 2s"'
SCHEMA = [
    {"name": "x", "type": "float", "nullable": False},
    {"name": "y", "type": "string", "nullable": False},
    {"name": "<i>z</i>", "type": "integer", "nullable": False},
]
HISTORY = [
    {"epoch": 1, "train_loss": 0.69, "val_loss": 0.7, "accuracy": 0.5, "f1": 0.4},
    {"epoch": 2, "train_loss": 0.41, "val_loss": 0.45, "accuracy": 0.81, "f1": 0.79},
]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _version(world, number=1, status=VersionStatus.READY, dataset=None, **fields):
    dataset = dataset or dataset_create(
        actor=world.users["alice"], project=world.alpha, name="churn"
    )
    return DatasetVersion.objects.create(
        dataset=dataset,
        version=number,
        status=status,
        content_hash=f"{dataset.pk:08x}{number:056x}",
        size_bytes=100,
        format="csv",
        filename=f"v{number}.csv",
        created_by=dataset.owner,
        schema=SCHEMA if status == VersionStatus.READY else [],
        row_count=10 if status == VersionStatus.READY else None,
        column_count=len(SCHEMA) if status == VersionStatus.READY else None,
        **fields,
    )


def _form_data(version, template: str = "mlp", **overrides) -> dict:
    """What the browser sends for the page's defaults."""
    data = {
        "project": version.dataset.project.slug,
        "experiment": "churn-mlp",
        "dataset_version": str(version.pk),
        "target": "y",
        "task": "classification",
        "template": template,
        "model_name": "",
    }
    for name, spec in param_schema(template).items():
        if spec["type"] == "bool":
            if spec["default"]:
                data[f"param_{name}"] = "on"
        else:
            data[f"param_{name}"] = param_text(spec, spec["default"])
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _training(world, version, actor=None, **fields) -> TrainingJob:
    values = {
        "experiment": "churn-mlp",
        "target": "y",
        "task": "classification",
        "template": "mlp",
        "params": {"epochs": 3},
    } | fields
    return services.training_job_create(
        actor=actor or world.users["carl"],
        project=version.dataset.project,
        dataset_version=version,
        **values,
    )


def _finish(training: TrainingJob, status=JobStatus.SUCCEEDED, **fields) -> TrainingJob:
    now = timezone.now()
    Job.objects.filter(pk=training.job_id).update(
        status=status, progress=1.0, started_at=now - timedelta(seconds=30), finished_at=now
    )
    TrainingJob.objects.filter(pk=training.pk).update(**fields)
    return TrainingJob.objects.select_related("job").get(pk=training.pk)


def _field(html: str, name: str) -> str:
    """The markup of one field's block: its input, help and messages."""
    match = re.search(rf'<div class="field[^"]*" id="field-{name}">(.*?)\n</div>', html, re.S)
    assert match, f"no field {name}"
    return match.group(1)


# --- launch form ----------------------------------------------------------------------------------


def test_form_offers_ready_versions_and_the_defaults_of_each_template(world):
    ready = _version(world, 1)
    failed = _version(world, 2, status=VersionStatus.FAILED, dataset=ready.dataset)
    client = _client(world.users["carl"])

    page = client.get("/training-jobs/new/", {"project": "alpha"}).content.decode()
    version_field = _field(page, "dataset_version")
    assert f'<option value="{ready.pk}">churn v1</option>' in version_field
    assert f'value="{failed.pk}"' not in version_field
    assert 'value="beta"' not in _field(page, "project")  # only projects carl contributes to
    assert 'value="hidden_layers"' not in page and 'value="64, 32"' in page  # mlp by default

    for template in template_names():
        html = client.get("/training-jobs/new/params/", {"template": template}).content.decode()
        assert "<html" not in html and 'name="template"' not in html
        for name, spec in param_schema(template).items():
            block = _field(html, f"param_{name}")
            if spec["type"] == "bool":
                assert ("checked" in block) == bool(spec["default"]), (template, name)
            elif spec["type"] == "choice":
                assert f'<option value="{spec["default"]}" selected>' in block, (template, name)
            else:
                assert f'value="{param_text(spec, spec["default"])}"' in block, (template, name)
            if spec["help"]:
                assert "Default:" in block


def test_target_and_version_selects_follow_the_choices(world):
    version = _version(world, 1)
    client = _client(world.users["carl"])
    html = client.get(
        "/training-jobs/new/target/", {"dataset_version": version.pk}
    ).content.decode()
    assert '<option value="x">x (float)</option>' in html
    assert '<option value="y">y (string)</option>' in html
    assert "&lt;i&gt;z&lt;/i&gt;" in html and "<i>z</i>" not in html

    versions = client.get("/training-jobs/new/versions/", {"project": "alpha"}).content.decode()
    assert f'<option value="{version.pk}">churn v1</option>' in versions
    # Another project's version is no choice for a stranger, and its columns stay hidden.
    eve = _client(world.users["eve"])
    assert (
        "x (float)"
        not in eve.get(
            "/training-jobs/new/target/", {"dataset_version": version.pk}
        ).content.decode()
    )
    assert (
        "churn v1"
        not in eve.get("/training-jobs/new/versions/", {"project": "alpha"}).content.decode()
    )


def test_a_good_submit_creates_the_training_job_and_opens_its_page(world):
    version = _version(world, 1)
    client = _client(world.users["carl"])
    data = _form_data(version, param_epochs="5", param_hidden_layers="16, 8", param_batch_norm="on")

    response = client.post("/training-jobs/new/", data)

    training = TrainingJob.objects.select_related("job", "experiment").get()
    assert response.status_code == 302
    assert response["Location"] == f"/training-jobs/{training.pk}/"
    assert training.experiment.name == "churn-mlp" and training.model_name == "churn-mlp"
    assert (training.target, training.task, training.template) == ("y", "classification", "mlp")
    assert training.params["epochs"] == 5 and training.params["hidden_layers"] == [16, 8]
    assert training.params["batch_norm"] is True and training.params["learning_rate"] == 0.001
    assert training.job.kind == "training.train" and training.job.status == JobStatus.QUEUED
    assert training.created_by == world.users["carl"]
    page = client.get(response["Location"]).content.decode()
    assert "is queued in experiment" in page and POLLING in page


@pytest.mark.parametrize(
    ("field", "overrides", "expected"),
    [
        ("target", {"target": "nope"}, "&#x27;nope&#x27; is not a column of this dataset version"),
        ("param_epochs", {"param_epochs": "0"}, None),
        ("param_learning_rate", {"param_learning_rate": "abc"}, None),
        ("param_hidden_layers", {"param_hidden_layers": "64, many"}, None),
        ("param_optimizer", {"param_optimizer": "adagrad"}, "Select a valid choice"),
        ("experiment", {"experiment": ""}, "This field is required"),
    ],
)
def test_bad_input_shows_the_message_next_to_its_field_and_stores_nothing(
    world, field, overrides, expected
):
    version = _version(world, 1)
    data = _form_data(version, **overrides)
    if expected is None:  # the trainer's own words, as the API gives them
        name = field.removeprefix("param_")
        raw = {"epochs": 0, "learning_rate": "abc", "hidden_layers": "64, many"}[name]
        _, errors = validate_params("mlp", {name: raw})
        expected = errors[name][0].replace("'", "&#x27;")

    response = _client(world.users["carl"]).post("/training-jobs/new/", data)

    html = response.content.decode()
    assert response.status_code == 200
    assert expected in _field(html, field)
    assert "Nothing was started" in html
    for key, value in overrides.items():  # the user's input is kept
        if value and key != "param_optimizer":
            assert f'value="{value}"' in _field(html, key) or "selected>" in _field(html, key)
    assert not TrainingJob.objects.exists() and not Experiment.objects.exists()
    assert not Job.objects.exists()


def test_a_failed_version_cannot_be_trained_on(world):
    failed = _version(world, 1, status=VersionStatus.FAILED)
    html = (
        _client(world.users["carl"])
        .post("/training-jobs/new/", _form_data(failed))
        .content.decode()
    )
    block = _field(html, "dataset_version")
    assert "is failed, not ready" in block
    assert f'<option value="{failed.pk}" selected>churn v1 (failed)</option>' in block
    assert not TrainingJob.objects.exists()


def test_another_projects_version_is_no_choice(world):
    foreign = _version(
        world,
        1,
        dataset=dataset_create(actor=world.users["eve"], project=world.beta, name="secret"),
    )
    html = (
        _client(world.users["carl"])
        .post("/training-jobs/new/", _form_data(foreign, project="alpha"))
        .content.decode()
    )
    assert "Select a valid choice" in _field(html, "dataset_version")
    assert "secret" not in html


def test_copying_a_jobs_settings_into_the_form(world):
    version = _version(world, 1)
    training = _training(world, version, params={"epochs": 7, "hidden_layers": [5, 3]})
    html = _client(world.users["carl"]).get(f"/training-jobs/new/?from={training.pk}")
    html = html.content.decode()
    assert 'value="7"' in _field(html, "param_epochs")
    assert 'value="5, 3"' in _field(html, "param_hidden_layers")
    assert '<option value="y" selected>' in _field(html, "target")


# --- permissions ------------------------------------------------------------------------------


def test_strangers_get_404_everywhere(world):
    training = _training(world, _version(world))
    client = _client(world.users["eve"])
    for url in (f"/training-jobs/{training.pk}/", f"/training-jobs/{training.pk}/live/"):
        assert client.get(url).status_code == 404, url
    for url in (f"/training-jobs/{training.pk}/cancel/", f"/training-jobs/{training.pk}/rerun/"):
        assert client.post(url).status_code == 404, url
    assert "churn-mlp" not in client.get("/experiments/").content.decode()
    assert Job.objects.get(pk=training.job_id).status == JobStatus.QUEUED


def test_viewer_reads_but_cannot_launch_cancel_or_rerun(world):
    version = _version(world)
    queued = _training(world, version)
    done = _finish(_training(world, version))
    client = _client(world.users["vera"])

    for training in (queued, done):
        html = client.get(f"/training-jobs/{training.pk}/").content.decode()
        assert "Training job #" in html
        assert "/cancel/" not in html and "/rerun/" not in html and "?from=" not in html
    assert client.post(f"/training-jobs/{queued.pk}/cancel/").status_code == 403
    assert client.post(f"/training-jobs/{done.pk}/rerun/").status_code == 403
    assert client.post("/training-jobs/new/", _form_data(version)).status_code == 403
    assert "needs the contributor role" in client.get("/training-jobs/new/").content.decode()
    assert "New training job" not in client.get("/experiments/").content.decode()
    assert TrainingJob.objects.count() == 2
    assert Job.objects.get(pk=queued.job_id).status == JobStatus.QUEUED


# --- job page ---------------------------------------------------------------------------------


def test_running_job_page_polls_and_carries_the_history(world):
    training = _training(world, _version(world))
    Job.objects.filter(pk=training.job_id).update(
        status=JobStatus.RUNNING, progress=0.4, started_at=timezone.now() - timedelta(seconds=40)
    )
    TrainingJob.objects.filter(pk=training.pk).update(
        history=HISTORY, current_epoch=2, epochs=5, log_tail="epoch 2/5 <b>loss</b>\n"
    )
    client = _client(world.users["vera"])

    html = client.get(f"/training-jobs/{training.pk}/").content.decode()
    assert POLLING in html and f'hx-get="/training-jobs/{training.pk}/live/"' in html
    assert "epoch 2/5" in html and "40%" in html and "about 1 min 0 s left" in html
    assert "&lt;b&gt;loss&lt;/b&gt;" in html and "<b>loss</b>" not in html
    match = re.search(r'<script id="training-history" type="application/json">(.*?)</script>', html)
    chart = json.loads(match.group(1))
    assert chart == {
        "history": HISTORY,
        "task": "classification",
        "epochs": 5,
        "primary": "accuracy",
    }
    assert "vendor/plotly/plotly.min.js" in html and "js/training.js" in html

    live = client.get(f"/training-jobs/{training.pk}/live/").content.decode().strip()
    assert "<html" not in live and POLLING in live and 'id="training-history"' in live
    # One element and nothing around it: htmx swaps it for itself (outerHTML) every 2 s.
    assert live.startswith('<div id="training-live"') and live.endswith("</div>")


def test_finished_job_page_shows_the_outcome_and_stops_polling(world):
    training = _finish(
        _training(world, _version(world)),
        history=HISTORY,
        current_epoch=2,
        epochs=2,
        metrics={"accuracy": 0.8125, "f1": 0.79, "val_loss": 0.45},
        resources={"device": "cpu", "wall_seconds": 12.5, "cpu_seconds": 30.25,
                   "peak_rss_mb": 512.0, "gpu_seconds": None},
        cost="0.0004",
        mlflow_run_id="abc123",
    )  # fmt: skip
    client = _client(world.users["carl"])
    for url in (f"/training-jobs/{training.pk}/", f"/training-jobs/{training.pk}/live/"):
        html = client.get(url).content.decode()
        assert POLLING not in html, url
        assert "Succeeded" in html and "100%" in html
        assert (
            '<tr class="primary-metric"><td><code>accuracy</code></td><td class="num">0.8125'
            in html
        )
        assert (
            "Wall time" in html and "12.5 s" in html and "512 MB" in html and "GPU time" not in html
        )
        assert "0.0004" in html and "abc123" in html
        assert "Run again" in html and "/cancel/" not in html
        assert f'href="/dataset-versions/{training.dataset_version_id}/"' in html or url.endswith(
            "live/"
        )


def test_failed_job_shows_its_error(world):
    training = _training(world, _version(world))
    Job.objects.filter(pk=training.job_id).update(
        status=JobStatus.FAILED, error="Training diverged at epoch 3; try a lower learning rate."
    )
    html = _client(world.users["carl"]).get(f"/training-jobs/{training.pk}/").content.decode()
    assert 'role="alert"' in html and "Training failed" in html
    assert "Training diverged at epoch 3" in html and POLLING not in html


def test_cancel_a_queued_job(world):
    training = _training(world, _version(world))
    client = _client(world.users["carl"])
    assert "/cancel/" in client.get(f"/training-jobs/{training.pk}/").content.decode()

    response = client.post(f"/training-jobs/{training.pk}/cancel/")
    assert response.status_code == 302 and response["Location"] == f"/training-jobs/{training.pk}/"
    assert Job.objects.get(pk=training.job_id).status == JobStatus.CANCELLED
    html = client.get(response["Location"]).content.decode()
    assert "Cancelled training job" in html and "Run again" in html and POLLING not in html
    # Cancelling again says why it cannot, rather than failing.
    again = client.post(f"/training-jobs/{training.pk}/cancel/", follow=True).content.decode()
    assert "cannot become cancelled" in again


def test_rerun_a_finished_job(world):
    training = _finish(_training(world, _version(world), params={"epochs": 4}))
    client = _client(world.users["rita"])

    response = client.post(f"/training-jobs/{training.pk}/rerun/")

    rerun = TrainingJob.objects.exclude(pk=training.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/training-jobs/{rerun.pk}/"
    assert rerun.rerun_of == training and rerun.params == training.params
    assert rerun.created_by == world.users["rita"] and rerun.job.status == JobStatus.QUEUED
    html = client.get(response["Location"]).content.decode()
    assert f'runs <a href="/training-jobs/{training.pk}/">#{training.pk}</a> again' in html


# --- experiments page ---------------------------------------------------------------------------


def test_experiments_page_lists_experiments_and_filters_runs(world):
    version = _version(world)
    a = _training(world, version, experiment="first")
    b = _finish(_training(world, version, experiment="second"), metrics={"accuracy": 0.9})
    _training(world, version, experiment="second")
    beta_version = _version(
        world, 1, dataset=dataset_create(actor=world.users["eve"], project=world.beta, name="b")
    )
    _training(world, beta_version, actor=world.users["eve"], experiment="beta-secret")
    client = _client(world.users["vera"])

    html = client.get("/experiments/").content.decode()
    assert "first" in html and "second" in html and "beta-secret" not in html
    second = Experiment.objects.get(name="second")
    assert re.search(rf'experiment={second.pk}"><strong>second</strong></a></td>\s*'
                     r'<td>alpha</td>\s*<td class="num">2</td>', html)  # fmt: skip
    assert "accuracy</span> 0.9" in html

    done = client.get("/experiments/", {"status": "succeeded"}).content.decode()
    assert f'data-job="{b.pk}"' in done and f'data-job="{a.pk}"' not in done
    one = client.get("/experiments/", {"experiment": second.pk}).content.decode()
    assert f'data-job="{a.pk}"' not in one and f'data-job="{b.pk}"' in one
    partial = client.get("/experiments/", {"project": "alpha"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and "first" in partial.content.decode()
    root = _client(world.users["root"]).get("/experiments/", {"project": "beta"}).content.decode()
    assert "beta-secret" in root and "first" not in root

    by_experiment = client.get("/experiments/", {"sort": "experiment"}).content.decode()
    assert by_experiment.index(f'data-job="{a.pk}"') < by_experiment.index(f'data-job="{b.pk}"')
    newest_first = client.get("/experiments/").content.decode()
    assert newest_first.index(f'data-job="{b.pk}"') < newest_first.index(f'data-job="{a.pk}"')
    assert "New training job" in _client(world.users["carl"]).get("/experiments/").content.decode()


def test_experiments_page_query_count_does_not_grow_with_jobs(world):
    version = _version(world)
    client = _client(world.users["alice"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/experiments/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        _finish(_training(world, version, experiment=f"small-{i}"), metrics={"accuracy": 0.5})
    small = queries()
    for i in range(8):
        _training(world, version, experiment=f"more-{i}")
    assert queries() == small


def test_html_in_names_is_escaped(world):
    version = _version(world)
    training = _training(
        world, version, experiment="<b>exp</b>", target="<i>z</i>", task="regression"
    )
    client = _client(world.users["alice"])
    for url in (
        "/experiments/",
        f"/training-jobs/{training.pk}/",
        f"/dataset-versions/{version.pk}/",
    ):
        html = client.get(url).content.decode()
        assert "<b>exp</b>" not in html and "&lt;b&gt;exp&lt;/b&gt;" in html, url
        assert "<i>z</i>" not in html, url


# --- the dataset version's "Used by" ----------------------------------------------------------


def test_dataset_version_page_lists_the_jobs_trained_on_it(world):
    version = _version(world)
    other = _version(world, 2, dataset=version.dataset)
    training = _training(world, version)
    client = _client(world.users["vera"])

    html = client.get(f"/dataset-versions/{version.pk}/").content.decode()
    used_by = html[html.index('id="used-by"') :]
    assert f'href="/training-jobs/{training.pk}/"' in used_by and "churn-mlp" in used_by
    assert "Not used by any training job yet" not in html
    assert (
        "Not used by any training job yet"
        in client.get(f"/dataset-versions/{other.pk}/").content.decode()
    )


@pytest.mark.parametrize("junk", ["a\x00b", "99999999999999999999", "-1", "<b>x</b>"])
def test_junk_input_never_fails_the_server(world, junk):
    version = _version(world)
    client = _client(world.users["carl"])
    for part in ("versions", "target", "params"):
        query = {"project": junk, "dataset_version": junk, "template": junk, "target": junk}
        assert client.get(f"/training-jobs/new/{part}/", query).status_code == 200, part
    assert client.get("/training-jobs/new/", {"from": junk, "project": junk}).status_code == 200
    fields = ["project", "dataset_version", "target", "template", "param_epochs"]
    if "\x00" in junk:  # otherwise a fine experiment name
        fields.append("experiment")
    for field in fields:
        response = client.post("/training-jobs/new/", {**_form_data(version), field: junk})
        assert response.status_code in (200, 403), field
        assert "<b>x</b>" not in response.content.decode()
    for params in ({"status": junk}, {"project": junk}, {"experiment": junk}, {"sort": junk}):
        assert client.get("/experiments/", params).status_code == 200, params
    assert not TrainingJob.objects.exists()
