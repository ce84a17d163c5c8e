"""The continuous-training page of a model: the policy form, retrain now, the run history."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.monitoring.models import RetrainPolicy, RetrainRun
from apps.monitoring.services.retrain import retrain_policy_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def browser(world, name: str) -> Client:
    client = Client()
    assert client.login(username=name, password=PASSWORD)
    return client


FORM = {
    "enabled": "on",
    "on_drift_alert": "on",
    "schedule_hours": "0",
    "data": "latest_dataset_version",
    "labelled_days": "30",
    "cooldown_minutes": "120",
}


def test_contributor_creates_the_policy_and_retrains_from_the_page(world, monitored):
    model = monitored.version.registered_model
    url = f"/models/{model.pk}/retraining/"
    carl = browser(world, "carl")
    page = carl.get(url)
    assert page.status_code == 200
    assert b"No retrain policy" in page.content and b'id="policy-form"' in page.content

    response = carl.post(url, FORM)
    assert response.status_code == 302 and response["Location"] == url
    policy = RetrainPolicy.objects.get()
    assert (policy.cooldown_minutes, policy.created_by) == (120, world.users["carl"])

    response = carl.post(f"{url}trigger/")
    assert response.status_code == 302
    run = RetrainRun.objects.get()
    assert run.status == "training", run.reason
    page = carl.get(url).content.decode()
    assert f'id="run-{run.pk}"' in page and 'data-status="training"' in page
    assert f'href="/training-jobs/{run.training_job_id}/"' in page
    assert f'href="/models/versions/{monitored.version.pk}/"' in page
    # Retrain again at once: refused, and the refusal is on the page and in the history.
    carl.post(f"{url}trigger/")
    page = carl.get(url).content.decode()
    assert "one retraining at a time" in page and 'data-status="skipped"' in page


def test_bad_form_answers_400_with_the_field_errors(world, monitored):
    url = f"/models/{monitored.version.registered_model_id}/retraining/"
    response = browser(world, "carl").post(url, {**FORM, "cooldown_minutes": "-5"})
    assert response.status_code == 400 and b"field-error" in response.content
    assert not RetrainPolicy.objects.exists()


def test_links_to_the_promotion_request_and_the_new_version(world, monitored):
    from apps.monitoring.services.retrain import retrain_run_advance, retrain_trigger
    from tests.monitoring.test_retrain_service import finish_training

    policy = retrain_policy_create(
        actor=world.users["carl"], registered_model=monitored.version.registered_model
    )
    run = retrain_trigger(policy=policy, trigger="manual", actor=world.users["carl"])
    version = finish_training(run)
    run = retrain_run_advance(run_id=run.pk)
    page = browser(world, "vera").get(f"/models/{policy.registered_model_id}/retraining/")
    html = page.content.decode()
    assert f'href="/promotions/{run.promotion_request_id}/"' in html
    assert f'href="/models/versions/{version.pk}/"' in html and "staging · pending" in html
    assert 'id="policy-form"' not in html and 'id="retrain-now"' not in html  # a viewer


def test_roles_and_strangers(world, monitored):
    model = monitored.version.registered_model
    url = f"/models/{model.pk}/retraining/"
    retrain_policy_create(actor=world.users["carl"], registered_model=model)
    assert browser(world, "eve").get(url).status_code == 404
    assert browser(world, "eve").post(f"{url}trigger/").status_code == 404
    assert browser(world, "vera").post(url, FORM).status_code == 403
    assert browser(world, "vera").post(f"{url}trigger/").status_code == 403
    assert browser(world, "carl").post(f"{url}delete/").status_code == 403
    assert RetrainPolicy.objects.exists()
    assert browser(world, "alice").post(f"{url}delete/").status_code == 302
    assert not RetrainPolicy.objects.exists()


def test_the_model_page_links_to_it(world, monitored):
    model = monitored.version.registered_model
    page = browser(world, "vera").get(f"/models/{model.pk}/").content.decode()
    assert f'href="/models/{model.pk}/retraining/"' in page
