"""GET /api/v1/lineage/: from a deployment upstream to its dataset version, from a dataset
version downstream to the deployments that serve models trained on it; strangers see
nothing; the query count does not grow with the graph."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.deployments.services.deployments import deployment_for
from apps.deployments.services.revisions import revision_create
from apps.registry.models import ModelVersion, Stage

URL = "/api/v1/lineage/"


def _deploy(world, version, environment="staging"):
    deployment = deployment_for(model=version.registered_model, environment=environment)
    revision_create(actor=world.users["carl"], deployment=deployment, strategy="direct",
                    stable=version)  # fmt: skip
    return deployment


def _types(body) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for node in body["nodes"]:
        found.setdefault(node["type"], set()).add(node["id"])
    return found


def test_upstream_from_a_deployment_reaches_the_dataset_version(world, api, model_version_factory):
    version = model_version_factory(stage=Stage.STAGING)
    deployment = _deploy(world, version)
    response = api(world.users["vera"]).get(URL, {"node": f"deployment:{deployment.pk}",
                                                  "direction": "upstream"})  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    types = _types(body)
    dv = f"dataset_version:{version.dataset_version_id}"
    tj = f"training_job:{version.training_job_id}"
    mv = f"model_version:{version.pk}"
    rev = f"deployment_revision:{deployment.current_revision_id}"
    assert types["dataset_version"] == {dv} and types["training_job"] == {tj}
    assert types["model_version"] == {mv} and types["deployment_revision"] == {rev}
    ds = f"dataset:{version.dataset_version.dataset_id}"
    assert types["dataset"] == {ds}
    edges = {(e["source"], e["target"], e["relation"]) for e in body["edges"]}
    dep = f"deployment:{deployment.pk}"
    assert edges == {(ds, dv, "version"), (dv, tj, "trained"), (tj, mv, "produced"),
                     (mv, rev, "stable"), (rev, dep, "revision_of")}  # fmt: skip
    node = next(n for n in body["nodes"] if n["type"] == "deployment")
    assert node["status"] == "live" and node["url"] == "/deployments/churn-staging/"


def test_downstream_from_a_dataset_version_reaches_live_deployments(
    world, api, model_version_factory
):
    v1 = model_version_factory(stage=Stage.STAGING)
    staging = _deploy(world, v1)
    v2 = model_version_factory(dataset_version=v1.dataset_version)
    ModelVersion.objects.filter(pk=v2.pk).update(stage=Stage.PRODUCTION)
    v2.stage = Stage.PRODUCTION
    production = _deploy(world, v2, "production")
    unrelated = model_version_factory(name="other", stage=Stage.STAGING)
    _deploy(world, unrelated)
    body = api(world.users["vera"]).get(URL, {"node": f"dataset_version:{v1.dataset_version_id}",
                                              "direction": "downstream"}).json()  # fmt: skip
    types = _types(body)
    assert types["deployment"] == {f"deployment:{staging.pk}", f"deployment:{production.pk}"}
    assert types["model_version"] == {f"model_version:{v1.pk}", f"model_version:{v2.pk}"}
    assert "dataset_version" in types and len(types["training_job"]) == 2
    both = api(world.users["vera"]).get(URL, {"node": f"model_version:{v1.pk}"}).json()
    assert {n["type"] for n in both["nodes"]} == {
        "dataset", "dataset_version", "training_job", "model_version", "deployment_revision",
        "deployment",
    }  # fmt: skip
    assert f"model_version:{v2.pk}" not in _types(both)["model_version"]  # a sibling, not lineage


def test_strangers_see_nothing_and_bad_input_is_400(world, api, model_version_factory):
    version = model_version_factory(stage=Stage.STAGING)
    deployment = _deploy(world, version)
    eve = api(world.users["eve"])
    assert eve.get(URL, {"node": f"deployment:{deployment.pk}"}).status_code == 404
    assert (
        eve.get(URL, {"node": f"dataset_version:{version.dataset_version_id}"}).status_code == 404
    )
    vera = api(world.users["vera"])
    assert vera.get(URL, {"node": "deployment:999999"}).status_code == 404
    assert "node" in vera.get(URL, {"node": "planet:1"}).json()
    assert "node" in vera.get(URL, {"node": "deployment"}).json()
    assert "node" in vera.get(URL).json()
    assert "direction" in vera.get(URL, {"node": "deployment:1", "direction": "up"}).json()


def test_a_strangers_model_on_my_dataset_is_hidden(world, api, model_version_factory):
    mine = model_version_factory(stage=Stage.STAGING)
    theirs = model_version_factory(project=world.beta, name="beta-model",
                                   dataset_version=mine.dataset_version)  # fmt: skip
    body = api(world.users["vera"]).get(URL, {"node": f"dataset_version:{mine.dataset_version_id}",
                                              "direction": "downstream"}).json()  # fmt: skip
    ids = {n["id"] for n in body["nodes"]}
    assert f"model_version:{mine.pk}" in ids and f"model_version:{theirs.pk}" not in ids
    assert all(e["source"] in ids and e["target"] in ids for e in body["edges"])


def test_query_count_is_fixed(world, api, model_version_factory):
    first = model_version_factory(stage=Stage.STAGING)
    deployment = _deploy(world, first)
    client = api(world.users["vera"])
    params = {"node": f"dataset_version:{first.dataset_version_id}", "direction": "both"}

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL, params).status_code == 200
        return len(ctx.captured_queries)

    count()  # the first request of a token also records its use
    small = count()
    for _ in range(5):
        version = model_version_factory(dataset_version=first.dataset_version)
        ModelVersion.objects.filter(registered_model=first.registered_model,
                                    stage=Stage.STAGING).update(stage=Stage.NONE)  # fmt: skip
        ModelVersion.objects.filter(pk=version.pk).update(stage=Stage.STAGING)
        version.stage = Stage.STAGING
        revision_create(actor=world.users["carl"], deployment=deployment, strategy="direct",
                        stable=version)  # fmt: skip
    assert count() == small
    assert len(client.get(URL, params).json()["nodes"]) > 15
