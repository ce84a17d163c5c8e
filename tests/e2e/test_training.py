"""A contributor launches a training job from the page and watches a real Celery worker train it:
the launch form's selects follow each other, bad input is explained next to its field, and the
job page follows the run live to the end (progress, curves, metrics, model version)."""

from __future__ import annotations

import random
import re

import pytest

from apps.datasets.services import dataset_create
from apps.experiments.models import TrainingJob
from tests.celery_worker import wait_for
from tests.conftest import PASSWORD
from tests.datasets.conftest import process, upload

pytestmark = [pytest.mark.e2e, pytest.mark.celery, pytest.mark.django_db(transaction=True)]

EPOCHS = 5


def _csv(rows: int = 200) -> str:
    """A learnable table: the label follows x1 + x2 and the colour."""
    rng = random.Random(3)
    lines = ["x1,x2,colour,label"]
    for _ in range(rows):
        x1, x2 = rng.gauss(0, 1), rng.gauss(0, 1)
        colour = rng.choice(["red", "green", "blue"])
        label = "yes" if x1 + x2 + (1.0 if colour == "red" else 0.0) > 0.5 else "no"
        lines.append(f"{x1:.4f},{x2:.4f},{colour},{label}")
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _stores(settings, tmp_path, monkeypatch):
    # The live server runs in this process and the worker in another: both use these folders.
    settings.ARTIFACT_ROOT = str(tmp_path / "artifacts")
    settings.MLFLOW_TRACKING_URI = f"sqlite:///{tmp_path}/mlflow.db"
    settings.MLFLOW_ARTIFACT_ROOT = str(tmp_path / "mlartifacts")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", settings.MLFLOW_TRACKING_URI)
    monkeypatch.setenv("MLFLOW_ARTIFACT_ROOT", settings.MLFLOW_ARTIFACT_ROOT)


def _sign_in(page, live_server, username: str = "alice") -> None:
    from playwright.sync_api import expect

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")


def test_launch_a_training_job_and_watch_it_to_the_end(
    world, api, live_server, page, tmp_path, workers
):
    from playwright.sync_api import expect

    dataset = dataset_create(actor=world.users["alice"], project=world.alpha, name="leads")
    body = upload(api(world.users["alice"]), dataset.pk, _csv(), name="leads.csv").json()
    version = process(body["id"])  # the processing job, run here as a worker would
    assert version.status == "ready", version.error
    worker = workers()
    _sign_in(page, live_server)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Experiments").click()
    expect(page.locator("h1")).to_have_text("Experiments")
    expect(page.locator("#runs")).to_contain_text("No training jobs yet")
    page.get_by_role("link", name="New training job").click()
    expect(page.locator("h1")).to_have_text("New training job")

    # alice contributes to one project only: it is chosen, and its ready versions are offered.
    expect(page.locator("#id_project")).to_have_value("alpha")
    page.fill("#id_experiment", "leads-mlp")
    expect(page.locator("#id_model_name")).to_have_attribute("placeholder", "leads-mlp")
    page.select_option("#id_dataset_version", label="leads v1")
    target = page.locator("#id_target")
    expect(target.locator("option")).to_have_text(
        ["Choose a column", "x1 (float)", "x2 (float)", "colour (string)", "label (string)"]
    )
    target.select_option("label")
    page.select_option("#id_task", "classification")

    # The hyperparameter inputs follow the template, each filled with its default.
    page.select_option("#id_template", "linear")
    expect(page.locator("#id_param_hidden_layers")).to_have_count(0)
    page.select_option("#id_template", "mlp")
    expect(page.locator("#id_param_hidden_layers")).to_have_value("64, 32")
    expect(page.locator("#id_param_epochs")).to_have_value("20")

    # Bad input: the trainer's message sits next to its field and the rest of the input stays.
    page.fill("#id_param_epochs", str(EPOCHS))
    page.fill("#id_param_hidden_layers", "16, 0")
    page.fill("#id_param_learning_rate", "50")
    page.get_by_role("button", name="Start training").click()
    expect(page.locator("#field-param_learning_rate .field-error")).to_contain_text(
        "Must be at most 10.0; got 50"
    )
    expect(page.locator("#field-param_hidden_layers .field-error")).to_contain_text(
        "Item 2: Must be at least 1; got 0."
    )
    expect(page.locator("#id_target")).to_have_value("label")
    expect(page.locator("#id_param_epochs")).to_have_value(str(EPOCHS))
    assert not TrainingJob.objects.exists()
    page.screenshot(path=str(tmp_path / "launch-errors.png"), full_page=True)

    page.fill("#id_param_hidden_layers", "16")
    page.fill("#id_param_learning_rate", "0.01")
    page.fill("#id_param_early_stopping_patience", "0")  # all the epochs, for the progress
    page.get_by_role("button", name="Start training").click()

    expect(page).to_have_url(re.compile(r"/training-jobs/\d+/$"))
    training = TrainingJob.objects.get()
    assert page.url == f"{live_server.url}/training-jobs/{training.pk}/"
    assert training.params["hidden_layers"] == [16] and training.params["epochs"] == EPOCHS
    live = page.locator("#training-live")
    expect(live).to_have_attribute("hx-trigger", "every 2s")  # polls while queued or running
    expect(page.locator(".flash")).to_contain_text("is queued")

    # Catch it running once, for a look at the live page.
    wait_for(
        lambda: (
            TrainingJob.objects.get(pk=training.pk).current_epoch >= 1
            or TrainingJob.objects.select_related("job").get(pk=training.pk).job.is_complete
        ),
        90,
        worker.log,
    )
    expect(page.locator("[data-epoch]")).to_contain_text(re.compile(r"epoch \d/5"), timeout=10_000)
    page.screenshot(path=str(tmp_path / "job-running.png"), full_page=True)

    status = page.locator("[data-job-status]")
    expect(status).to_have_text("Succeeded", timeout=90_000)
    expect(page.locator("[data-percent]")).to_have_text("100%")
    expect(page.locator("[data-epoch]")).to_have_text(f"epoch {EPOCHS}/{EPOCHS}")
    expect(page.locator("#training-live")).not_to_have_attribute("hx-trigger", "every 2s")
    expect(page.locator("#metrics .primary-metric")).to_contain_text("accuracy")
    expect(page.locator("#resources")).to_contain_text("cpu")
    expect(page.locator("#resources")).to_contain_text("leads-mlp v1")
    expect(page.locator("#log pre")).to_contain_text("registered")
    expect(page.get_by_role("button", name="Run again")).to_be_visible()

    # The curves: one loss figure with train and validation, one figure per task metric.
    loss = page.locator("[data-plot='loss']")
    expect(loss).to_have_class(re.compile(r"js-plotly-plot"))
    wait_for(
        lambda: (
            page.evaluate(
                "document.querySelector(\"[data-plot='loss']\").data.map(t => t.x.length)"
            )
            == [EPOCHS, EPOCHS]
        ),
        10,
    )
    expect(page.locator("[data-plot='metric:accuracy'] .scatterlayer .trace")).to_have_count(1)
    expect(page.locator(".curves .js-plotly-plot")).to_have_count(5)  # loss + 4 metrics
    page.screenshot(path=str(tmp_path / "job-finished.png"), full_page=True)

    training.refresh_from_db()
    assert training.job.status == "succeeded" and len(training.history) == EPOCHS

    page.get_by_role("link", name="Experiments", exact=True).first.click()
    row = page.locator(f"#runs tr[data-job='{training.pk}']")
    expect(row).to_contain_text("Succeeded")
    expect(row).to_contain_text("leads v1")
    expect(row).to_contain_text("accuracy")
    expect(page.locator("#experiment-list")).to_contain_text("leads-mlp")
    page.screenshot(path=str(tmp_path / "experiments.png"), full_page=True)

    page.goto(f"{live_server.url}/dataset-versions/{version.pk}/")
    expect(page.locator("#used-by")).to_contain_text(f"#{training.pk}")
    expect(page.locator("#used-by")).to_contain_text("leads-mlp v1")


def test_the_job_page_follows_epochs_as_they_arrive_and_cancels(
    world, api, live_server, page, tmp_path
):
    """The worker's part played here, epoch by epoch, with the services it calls: the open page
    redraws its curves from each poll without reloading, and its Cancel button stops the job."""
    from playwright.sync_api import expect

    from apps.core.services.jobs import job_report_progress, job_start
    from apps.experiments.services import training_job_create, training_job_record_epoch

    dataset = dataset_create(actor=world.users["alice"], project=world.alpha, name="leads")
    body = upload(api(world.users["alice"]), dataset.pk, _csv(), name="leads.csv").json()
    version = process(body["id"])
    training = training_job_create(
        actor=world.users["carl"],
        project=world.alpha,
        experiment="live-curves",
        dataset_version=version,
        target="label",
        task="classification",
        template="mlp",
        params={"epochs": 10},
    )
    job_start(job_id=training.job_id, worker="e2e:1")
    _sign_in(page, live_server, "carl")
    page.goto(f"{live_server.url}/training-jobs/{training.pk}/")
    expect(page.locator("[data-job-status]")).to_have_text("Running")
    expect(page.locator("[data-training-curves]")).to_contain_text("after the first epoch")
    marker = page.evaluate("window.__notReloaded = true")  # gone if the page reloads
    assert marker is True

    def epoch(n: int) -> None:
        loss = 0.7 - 0.05 * n
        metrics = {"train_loss": loss + 0.02, "val_loss": loss, "accuracy": 0.5 + 0.04 * n,
                   "f1": 0.45 + 0.04 * n, "roc_auc": 0.6 + 0.03 * n, "log_loss": loss}  # fmt: skip
        training_job_record_epoch(
            training_id=training.pk,
            epoch=n,
            epochs=10,
            metrics=metrics,
            log_lines=f"epoch {n}/10 train_loss={loss + 0.02:.4g} <script>x</script>\n",
        )
        job_report_progress(job_id=training.job_id, fraction=n / 10, message=f"epoch {n}/10")

    def points() -> list[int]:
        return page.evaluate(
            "(document.querySelector(\"[data-plot='loss']\") || {data: []}).data"
            ".map(t => t.x.length)"
        )

    for n in (1, 2, 3):
        epoch(n)
        expect(page.locator("[data-epoch]")).to_have_text(f"epoch {n}/10", timeout=8_000)
        wait_for(lambda n=n: points() == [n, n], 8)
    expect(page.locator("[data-percent]")).to_have_text("30%")
    expect(page.locator("[data-eta]")).to_contain_text("left")
    expect(page.locator("#log pre")).to_contain_text(
        "epoch 3/10 train_loss=0.57 <script>x</script>"
    )
    expect(page.locator("#training-live")).to_have_attribute("hx-trigger", "every 2s")
    assert page.evaluate("window.__notReloaded") is True
    page.screenshot(path=str(tmp_path / "job-live.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("[data-job-status]")).to_have_text("Cancelled")
    expect(page.locator(".flash")).to_contain_text(f"Cancelled training job #{training.pk}")
    expect(page.locator("#training-live")).not_to_have_attribute("hx-trigger", "every 2s")
    expect(page.get_by_role("button", name="Run again")).to_be_visible()
    expect(page.locator("[data-plot='loss']")).to_be_visible()  # the history stays drawn
    training.refresh_from_db()
    assert training.job.status == "cancelled"
