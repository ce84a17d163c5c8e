"""The lineage page: renders the graph data and the node table for every node type, keeps
strangers out (404), answers a friendly 400 for bad addresses, and costs a fixed number of
queries; the four object pages link to it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.deployments.models import Revision
from apps.lineage.selectors import LEVELS
from apps.monitoring.models import DriftReport, Monitor
from apps.registry.models import PromotionRequest, Stage
from tests.deployments.conftest import deployment_factory  # noqa: F401
from tests.registry.conftest import model_version_factory  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/lineage/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def graph_of(response) -> dict:
    found = re.search(
        r'<script id="lineage-data" type="application/json">(.*?)</script>',
        response.content.decode(), re.S,
    )  # fmt: skip
    assert found, "the page carries the graph as json_script"
    return json.loads(found.group(1))


@pytest.fixture
def chain(world, model_version_factory, deployment_factory):  # noqa: F811
    """dataset → dataset version → training job → model version → promotion → revision →
    deployment → drift report, every row in alpha."""
    version = model_version_factory(stage=Stage.STAGING)
    promotion = PromotionRequest.objects.create(
        model_version=version, target=Stage.STAGING, justification="fixture", status="approved",
        requested_by=world.users["carl"], approvals_required=1,
        expires_at=timezone.now() + timedelta(days=7),
    )  # fmt: skip
    deployment, _ = deployment_factory(stable=version)
    Revision.objects.filter(pk=deployment.current_revision_id).update(promotion_request=promotion)
    monitor = Monitor.objects.create(project=world.alpha, deployment=deployment)
    report = DriftReport.objects.create(monitor=monitor, model_version=version, status="ok")
    return {
        "dataset": version.dataset_version.dataset_id,
        "dataset_version": version.dataset_version_id,
        "training_job": version.training_job_id,
        "model_version": version.pk,
        "promotion": promotion.pk,
        "deployment_revision": deployment.current_revision_id,
        "deployment": deployment.pk,
        "drift_report": report.pk,
    }


@pytest.mark.parametrize(
    "kind",
    ["dataset", "dataset_version", "training_job", "model_version", "promotion",
     "deployment_revision", "deployment", "drift_report"],
)  # fmt: skip
def test_the_page_renders_for_each_node_type(world, chain, kind):
    if kind not in LEVELS:
        pytest.skip(f"the selector does not know {kind} yet")
    node = f"{kind}:{chain[kind]}"
    response = client_for(world.users["vera"]).get(URL, {"node": node, "direction": "both"})
    assert response.status_code == 200
    graph = graph_of(response)
    ids = {n["id"] for n in graph["nodes"]}
    assert graph["start"] == node and node in ids
    # The chain is one line: from any point of it, both directions reach both of its ends.
    assert f"dataset_version:{chain['dataset_version']}" in ids
    assert f"deployment:{chain['deployment']}" in ids
    layers = [layer["type"] for layer in graph["layers"]]
    assert layers.index("dataset_version") < layers.index("training_job")
    assert layers.index("training_job") < layers.index("model_version")
    assert layers.index("model_version") < layers.index("deployment")
    html = response.content.decode()
    for n in graph["nodes"]:  # the accessible fallback lists every node
        assert f'data-node="{n["id"]}"' in html
    assert 'aria-current="true"' in html and "js/lineage.js" in html


def test_direction_and_depth(world, chain):
    client = client_for(world.users["vera"])
    mv = f"model_version:{chain['model_version']}"
    up = graph_of(client.get(URL, {"node": mv, "direction": "upstream"}))
    assert {n["type"] for n in up["nodes"]} >= {"dataset_version", "training_job"}
    assert "deployment" not in {n["type"] for n in up["nodes"]}
    down = graph_of(client.get(URL, {"node": mv, "direction": "downstream"}))
    assert "deployment" in {n["type"] for n in down["nodes"]}
    assert "dataset_version" not in {n["type"] for n in down["nodes"]}
    near = graph_of(client.get(URL, {"node": mv, "direction": "both", "depth": 1}))
    assert {n["type"] for n in near["nodes"]} < {n["type"] for n in up["nodes"] + down["nodes"]}
    html = client.get(URL, {"node": mv, "direction": "upstream"}).content.decode()
    assert 'value="upstream" checked' in html


def test_strangers_bad_input_and_anonymous(world, chain):
    eve = client_for(world.users["eve"])
    for kind in ("dataset_version", "model_version", "deployment"):
        assert eve.get(URL, {"node": f"{kind}:{chain[kind]}"}).status_code == 404
    vera = client_for(world.users["vera"])
    for bad in ({"node": "planet:1"}, {"node": "deployment"}, {}, {"node": "deployment:x"},
                {"node": "deployment:1", "direction": "sideways"},
                {"node": "deployment:1", "depth": "0"}):  # fmt: skip
        response = vera.get(URL, bad)
        assert response.status_code == 400, bad
        assert b'id="lineage-error"' in response.content
    assert vera.get(URL, {"node": "deployment:99999999"}).status_code == 404
    anonymous = Client().get(URL, {"node": f"deployment:{chain['deployment']}"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_query_count_is_fixed(world, chain, model_version_factory, deployment_factory):  # noqa: F811
    client = client_for(world.users["vera"])
    params = {"node": f"dataset_version:{chain['dataset_version']}", "direction": "both"}

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL, params).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for i in range(5):
        from apps.datasets.models import DatasetVersion

        version = model_version_factory(
            name=f"m{i}", dataset_version=DatasetVersion.objects.get(pk=chain["dataset_version"]),
            stage=Stage.STAGING,
        )  # fmt: skip
        deployment_factory(stable=version, slug=f"m{i}-staging")
    assert count() == small
    assert len(graph_of(client.get(URL, params))["nodes"]) > 15


def test_object_pages_link_to_the_lineage_page(world, chain):
    client = client_for(world.users["vera"])
    pages = {
        "dataset_version": f"/dataset-versions/{chain['dataset_version']}/",
        "training_job": f"/training-jobs/{chain['training_job']}/",
        "model_version": f"/models/versions/{chain['model_version']}/",
        "deployment": "/deployments/churn-staging/",
    }
    for kind, url in pages.items():
        html = client.get(url).content.decode()
        assert f'href="/lineage/?node={kind}:{chain[kind]}"' in html, url
