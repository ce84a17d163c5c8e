"""A viewer opens a dataset version, sees what depends on it (loaded by htmx), opens its
lineage graph (dataset version → job → model version → deployment), clicks the model
version's node and lands on that version's page; then follows the deployment from there."""

from __future__ import annotations

import re

import pytest

from apps.registry.models import Stage
from tests.conftest import PASSWORD
from tests.deployments.conftest import deployment_factory  # noqa: F401
from tests.registry.conftest import model_version_factory  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_lineage_graph_click_through(
    world,
    live_server,
    page,
    tmp_path,
    model_version_factory,  # noqa: F811
    deployment_factory,  # noqa: F811
):
    from playwright.sync_api import expect

    version = model_version_factory(stage=Stage.STAGING)
    deployment, _ = deployment_factory(stable=version)
    dv = version.dataset_version

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "vera")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    page.goto(f"{live_server.url}/dataset-versions/{dv.pk}/")
    impact = page.locator("#impact")
    expect(impact.locator(f'tr[data-model-version="{version.pk}"][data-live="1"]')).to_be_visible()
    expect(impact.locator('[data-deployment="churn-staging"]')).to_be_visible()
    page.screenshot(path=str(tmp_path / "dataset_version.png"), full_page=True)

    page.click("#lineage-link")
    expect(page).to_have_url(f"{live_server.url}/lineage/?node=dataset_version:{dv.pk}")
    graph = page.locator("#lineage-graph svg")
    expect(graph).to_be_visible()
    for node in (f"dataset_version:{dv.pk}", f"training_job:{version.training_job_id}",
                 f"model_version:{version.pk}", f"deployment:{deployment.pk}"):  # fmt: skip
        expect(graph.locator(f'[data-node="{node}"]')).to_be_visible()
    expect(page.locator("#lineage-legend [data-status=staging]")).to_be_visible()
    # Data sits left of the model, the model left of the deployment.
    xs = [
        graph.locator(f'[data-node="{node}"] circle').bounding_box()["x"]
        for node in (f"dataset_version:{dv.pk}", f"model_version:{version.pk}",
                     f"deployment:{deployment.pk}")
    ]  # fmt: skip
    assert xs == sorted(xs) and len(set(xs)) == 3
    page.screenshot(path=str(tmp_path / "lineage.png"), full_page=True)

    # The direction switch redraws at once (upstream of a dataset version is only itself).
    page.check("input[name=direction][value=upstream]")
    expect(page).to_have_url(
        re.compile(r"/lineage/\?node=dataset_version(:|%3A)\d+&direction=upstream$")
    )
    expect(graph.locator(f'[data-node="model_version:{version.pk}"]')).to_have_count(0)
    page.check("input[name=direction][value=downstream]")
    expect(graph.locator(f'[data-node="model_version:{version.pk}"]')).to_be_visible()

    node = graph.locator(f'[data-node="model_version:{version.pk}"]')
    node.locator("circle").hover()
    expect(graph.locator("path.edge.lit")).not_to_have_count(0)
    node.locator("circle").click()
    expect(page).to_have_url(f"{live_server.url}/models/versions/{version.pk}/")
    expect(page.locator("h1")).to_contain_text("churn v1")
    expect(page.locator('#impact [data-deployment="churn-staging"]')).to_be_visible()
    page.screenshot(path=str(tmp_path / "model_version.png"), full_page=True)
    print("screenshots in", tmp_path)
