"""A contributor opens a deployment in a canary: the traffic charts are drawn from the log
(stable and candidate), the canary is aborted, then rolled back from the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.deployments.models import Deployment, PredictionLog
from apps.deployments.services.deployments import deployment_for
from apps.deployments.services.revisions import revision_create
from apps.registry.models import ModelVersion
from tests.conftest import PASSWORD
from tests.registry.conftest import model_version_factory  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_canary_page_abort_and_rollback(
    world,
    live_server,
    page,
    tmp_path,
    model_version_factory,  # noqa: F811
):
    from playwright.sync_api import expect

    v1 = model_version_factory(stage="staging")
    v2 = model_version_factory()
    deployment = deployment_for(model=v1.registered_model, environment="staging")
    carl = world.users["carl"]
    revision_create(actor=carl, deployment=deployment, strategy="direct", stable=v1)
    ModelVersion.objects.filter(pk=v1.pk).update(stage="none")
    ModelVersion.objects.filter(pk=v2.pk).update(stage="staging")
    v2.stage = "staging"
    revision_create(actor=carl, deployment=deployment, strategy="canary", stable=v1,
                    candidate=v2, canary_percent=20)  # fmt: skip
    now = timezone.now()
    PredictionLog.objects.bulk_create(
        PredictionLog(
            deployment=deployment, revision_id=deployment.current_revision_id,
            model_version_id=(v2 if i % 5 == 0 else v1).pk, request_id=f"r{i}", inputs={},
            output="yes", latency_ms=2.0 + i % 7, created_at=now - timedelta(minutes=i % 9),
        )
        for i in range(200)
    )  # fmt: skip

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "carl")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server.url + "/deployments/churn-staging/")
    expect(page.locator("#deployment-charts figure .main-svg").first).to_be_visible()
    expect(page.locator("#deployment-charts figure")).to_have_count(3)
    expect(page.locator("#traffic-split tbody tr")).to_have_count(2)
    page.screenshot(path=str(tmp_path / "deployment.png"), full_page=True)

    page.click("#canary-controls button[value=abort]")
    expect(page.locator("#current [data-strategy]")).to_have_text("Direct")
    page.click('tr[data-revision="2"] button.rollback')
    expect(page.locator("#current [data-strategy]")).to_have_text("Canary")
    deployment = Deployment.objects.get(pk=deployment.pk)
    assert deployment.current_revision.number == 4
    assert deployment.current_revision.rolled_back_to.number == 2
