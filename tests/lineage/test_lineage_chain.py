"""The whole chain, dataset → dataset version → training job → model version → promotion →
deployment revision → deployment → drift report → (retraining) training job, walked both ways;
depth limits; a stranger's project stays hidden; the query count does not grow with the graph."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.deployments.models import Deployment
from apps.deployments.services.deployments import deployment_for
from apps.deployments.services.revisions import revision_create
from apps.monitoring.models import Alert, AlertRule, DriftReport, Monitor, RetrainPolicy, RetrainRun
from apps.registry.models import ModelVersion, PromotionRequest, Stage

URL = "/api/v1/lineage/"


@dataclass
class Chain:
    version: ModelVersion
    promotion: PromotionRequest
    deployment: Deployment
    report: DriftReport
    retrained: ModelVersion
    revision_id: int

    def ids(self) -> dict[str, str]:
        v = self.version
        return {
            "dataset": f"dataset:{v.dataset_version.dataset_id}",
            "dataset_version": f"dataset_version:{v.dataset_version_id}",
            "training_job": f"training_job:{v.training_job_id}",
            "model_version": f"model_version:{v.pk}",
            "promotion": f"promotion:{self.promotion.pk}",
            "deployment_revision": f"deployment_revision:{self.revision_id}",
            "deployment": f"deployment:{self.deployment.pk}",
            "drift_report": f"drift_report:{self.report.pk}",
            "retrain_job": f"training_job:{self.retrained.training_job_id}",
            "retrained": f"model_version:{self.retrained.pk}",
        }


def _promote(world, version, target="staging") -> PromotionRequest:
    # One champion per stage: the earlier one steps down, as an approval would make it.
    ModelVersion.objects.filter(registered_model=version.registered_model, stage=target).update(
        stage=Stage.NONE
    )
    ModelVersion.objects.filter(pk=version.pk).update(stage=target)
    version.stage = target
    return PromotionRequest.objects.create(
        model_version=version, target=target, justification="better", status="approved",
        requested_by=world.users["carl"], approvals_required=1,
        expires_at=timezone.now() + timedelta(days=7), decided_at=timezone.now(),
    )  # fmt: skip


def _chain(world, model_version_factory, *, project=None, name="churn") -> Chain:
    version = model_version_factory(project=project, name=name)
    promotion = _promote(world, version)
    deployment = deployment_for(model=version.registered_model, environment="staging")
    actor = world.users["eve" if project == world.beta else "carl"]
    revision_create(actor=actor, deployment=deployment, strategy="direct", stable=version,
                    promotion_request=promotion)  # fmt: skip
    monitor = Monitor.objects.create(project=deployment.project, deployment=deployment,
                                     name="drift", schedule_minutes=0)  # fmt: skip
    report = DriftReport.objects.create(monitor=monitor, status="ok", dataset_drift=True,
                                        model_version=version)  # fmt: skip
    rule = AlertRule.objects.create(monitor=monitor, kind="dataset_drift")
    alert = Alert.objects.create(project=deployment.project, monitor=monitor, rule=rule,
                                 kind="dataset_drift", message="drift", opened_report=report,
                                 last_report=report, opened_at=timezone.now())  # fmt: skip
    retrained = model_version_factory(project=project, name=name,
                                      dataset_version=version.dataset_version)  # fmt: skip
    policy = RetrainPolicy.objects.create(project=deployment.project,
                                          registered_model=version.registered_model)  # fmt: skip
    RetrainRun.objects.create(
        policy=policy, trigger="drift_alert", alert=alert, status="succeeded",
        training_job=retrained.training_job, model_version=retrained,
    )  # fmt: skip
    revision_id = deployment.revisions.get().pk
    return Chain(version, promotion, deployment, report, retrained, revision_id)


@pytest.fixture
def chain(world, model_version_factory) -> Chain:
    return _chain(world, model_version_factory)


def _graph(client, node: str, **params) -> dict:
    response = client.get(URL, {"node": node, **params})
    assert response.status_code == 200, response.content
    return response.json()


def _edges(body: dict) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["relation"]) for e in body["edges"]}


def test_downstream_of_a_dataset_version_runs_the_whole_chain(world, api, chain):
    ids = chain.ids()
    body = _graph(api(world.users["vera"]), ids["dataset_version"], direction="downstream")
    assert {
        (ids["dataset_version"], ids["training_job"], "trained"),
        (ids["training_job"], ids["model_version"], "produced"),
        (ids["model_version"], ids["promotion"], "requested"),
        (ids["promotion"], ids["deployment_revision"], "deployed"),
        (ids["model_version"], ids["deployment_revision"], "stable"),
        (ids["deployment_revision"], ids["deployment"], "revision_of"),
        (ids["deployment"], ids["drift_report"], "monitored"),
        (ids["model_version"], ids["drift_report"], "observed"),
        (ids["drift_report"], ids["retrain_job"], "triggered"),
        (ids["dataset_version"], ids["retrain_job"], "trained"),
        (ids["retrain_job"], ids["retrained"], "produced"),
    } == _edges(body)
    nodes = {n["id"]: n for n in body["nodes"]}
    assert ids["dataset"] not in nodes  # upstream of the start
    assert [n["type"] for n in body["nodes"]] == sorted(
        (n["type"] for n in body["nodes"]), key=lambda t: list(ids).index(t)
    )  # layered left to right
    assert nodes[ids["promotion"]]["status"] == "approved"
    assert nodes[ids["promotion"]]["url"] == f"/promotions/{chain.promotion.pk}/"
    assert nodes[ids["drift_report"]]["status"] == "drifted"
    assert nodes[ids["drift_report"]]["url"] == "/monitoring/churn-staging/"
    assert nodes[ids["model_version"]]["url"] == f"/models/versions/{chain.version.pk}/"
    assert nodes[ids["training_job"]]["url"] == f"/training-jobs/{chain.version.training_job_id}/"
    assert nodes[ids["dataset_version"]]["url"] == (
        f"/dataset-versions/{chain.version.dataset_version_id}/"
    )


def test_upstream_of_the_retrained_version_reaches_back_through_the_drift_report(world, api, chain):
    ids = chain.ids()
    body = _graph(api(world.users["vera"]), ids["retrained"], direction="upstream")
    found = {n["id"] for n in body["nodes"]}
    assert set(ids.values()) - {ids["retrained"]} <= found | {ids["retrained"]}
    assert ids["retrained"] in found
    assert (ids["drift_report"], ids["retrain_job"], "triggered") in _edges(body)
    assert (ids["dataset"], ids["dataset_version"], "version") in _edges(body)
    node = next(n for n in body["nodes"] if n["id"] == ids["dataset"])
    assert node["url"] == f"/datasets/{chain.version.dataset_version.dataset_id}/"


def test_upstream_of_a_drift_report(world, api, chain):
    ids = chain.ids()
    body = _graph(api(world.users["vera"]), ids["drift_report"], direction="upstream")
    assert {n["type"] for n in body["nodes"]} == {
        "dataset", "dataset_version", "training_job", "model_version", "promotion",
        "deployment_revision", "deployment", "drift_report",
    }  # fmt: skip
    assert ids["retrain_job"] not in {n["id"] for n in body["nodes"]}  # downstream of it


def test_depth_counts_hops_from_the_start(world, api, chain):
    ids = chain.ids()
    vera = api(world.users["vera"])
    one = _graph(vera, ids["model_version"], direction="both", depth=1)
    assert {n["id"] for n in one["nodes"]} == {
        ids["training_job"], ids["model_version"], ids["promotion"],
        ids["deployment_revision"], ids["drift_report"],
    }  # fmt: skip
    two = _graph(vera, ids["model_version"], direction="downstream", depth=2)
    assert {n["id"] for n in two["nodes"]} == {
        ids["model_version"], ids["promotion"], ids["deployment_revision"],
        ids["drift_report"], ids["deployment"], ids["retrain_job"],
    }  # fmt: skip
    every = _graph(vera, ids["model_version"], direction="downstream")
    assert ids["retrained"] in {n["id"] for n in every["nodes"]}
    assert all(e["source"] in {n["id"] for n in two["nodes"]} for e in two["edges"])


def test_a_cycle_through_retraining_ends(world, api, chain):
    """The retrained version deployed to the same deployment closes a loop:
    deployment → report → job → version → revision → deployment. The walk still ends."""
    ids = chain.ids()
    _promote(world, chain.retrained)
    revision_create(actor=world.users["carl"], deployment=chain.deployment, strategy="direct",
                    stable=chain.retrained)  # fmt: skip
    body = _graph(api(world.users["vera"]), ids["deployment"], direction="downstream")
    assert ids["retrained"] in {n["id"] for n in body["nodes"]}
    assert ids["deployment"] in {e["target"] for e in body["edges"]}
    assert len(body["nodes"]) == len({n["id"] for n in body["nodes"]})


def test_strangers_get_404_and_other_projects_stay_hidden(world, api, model_version_factory):
    mine = _chain(world, model_version_factory)
    theirs = _chain(world, model_version_factory, project=world.beta, name="beta-model")
    eve = api(world.users["eve"])
    for node in mine.ids().values():
        assert eve.get(URL, {"node": node}).status_code == 404, node
    vera = api(world.users["vera"])
    for node in theirs.ids().values():
        assert vera.get(URL, {"node": node}).status_code == 404, node
    body = _graph(vera, mine.ids()["dataset"], direction="downstream")
    seen = {n["id"] for n in body["nodes"]}
    assert mine.ids()["deployment"] in seen
    assert not seen & set(theirs.ids().values())
    # Eve's own chain is whole for her and holds nothing of alpha.
    own = _graph(eve, theirs.ids()["deployment"], direction="both")
    assert {n["id"] for n in own["nodes"]} >= {theirs.ids()["dataset"], theirs.ids()["retrained"]}
    assert not {n["id"] for n in own["nodes"]} & set(mine.ids().values())
    # A superuser sees every project.
    root = _graph(api(world.users["root"]), theirs.ids()["dataset_version"])
    assert theirs.ids()["drift_report"] in {n["id"] for n in root["nodes"]}


def test_a_strangers_model_on_my_data_is_not_a_path_back(world, api, model_version_factory):
    """Alpha's data trained a beta model (a link across projects): the walk stops at the
    hidden node, so nothing beyond it leaks, and no edge names it."""
    mine = model_version_factory()
    theirs = model_version_factory(project=world.beta, name="beta-model",
                                   dataset_version=mine.dataset_version)  # fmt: skip
    body = _graph(api(world.users["vera"]), f"dataset_version:{mine.dataset_version_id}")
    ids = {n["id"] for n in body["nodes"]}
    assert f"model_version:{theirs.pk}" not in ids
    assert f"training_job:{theirs.training_job_id}" not in ids
    assert all(e["source"] in ids and e["target"] in ids for e in body["edges"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "node"),
        ({"node": ""}, "node"),
        ({"node": "planet:1"}, "node"),
        ({"node": "deployment"}, "node"),
        ({"node": "deployment:"}, "node"),
        ({"node": "deployment:abc"}, "node"),
        ({"node": "deployment:-3"}, "node"),
        ({"node": "deployment:0"}, "node"),
        ({"node": "deployment:99999999999999999999"}, "node"),
        ({"node": "deployment:1", "direction": "sideways"}, "direction"),
        ({"node": "deployment:1", "depth": "0"}, "depth"),
        ({"node": "deployment:1", "depth": "21"}, "depth"),
        ({"node": "deployment:1", "depth": "deep"}, "depth"),
    ],
)
def test_bad_input_is_400_naming_the_field(world, api, params, field):
    response = api(world.users["vera"]).get(URL, params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_anonymous_callers_are_refused(world, client):
    assert client.get(URL, {"node": "deployment:1"}).status_code in (401, 403)


def test_query_count_is_the_same_for_a_small_and_a_large_graph(
    world, api, model_version_factory, django_assert_num_queries
):
    small = _chain(world, model_version_factory)
    large = _chain(world, model_version_factory, name="big")
    for _ in range(6):  # more versions, promotions, revisions and reports on the same data
        extra = model_version_factory(name="big", dataset_version=large.version.dataset_version)
        promotion = _promote(world, extra)
        revision_create(actor=world.users["carl"], deployment=large.deployment, strategy="direct",
                        stable=extra, promotion_request=promotion)  # fmt: skip
        DriftReport.objects.create(monitor=large.report.monitor, status="ok", model_version=extra)
    client = api(world.users["vera"])
    client.get(URL, {"node": "deployment:1"})  # the token's first use is recorded once

    def count(chain: Chain) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            body = _graph(client, chain.ids()["dataset_version"], direction="both")
        return len(ctx.captured_queries), len(body["nodes"])

    small_queries, small_nodes = count(small)
    large_queries, large_nodes = count(large)
    assert large_nodes > small_nodes + 20
    assert small_queries == large_queries
    # auth (the token with its user), the walk, and the nodes of every type in one query
    assert small_queries <= 3
    with django_assert_num_queries(small_queries):
        _graph(client, large.ids()["dataset_version"], direction="both")


@pytest.mark.parametrize(
    "start, directions, depth",
    [("dataset_version", ["d"], None), ("deployment", ["u"], None),
     ("model_version", ["d", "u"], 2), ("drift_report", ["d", "u"], None)],
)  # fmt: skip
def test_the_stepwise_walk_of_the_sqlite_default_finds_the_same_edges(
    world, chain, start, directions, depth
):
    from apps.lineage.selectors.walk import MAX_HOPS, _walk_stepwise, walk

    pk = {
        "dataset_version": chain.version.dataset_version_id,
        "deployment": chain.deployment.pk,
        "model_version": chain.version.pk,
        "drift_report": chain.report.pk,
    }[start]
    recursive = set(walk(kind=start, pk=pk, directions=directions, depth=depth))
    stepwise = set(
        _walk_stepwise(kind=start, pk=pk, directions=directions, depth=depth or MAX_HOPS)
    )
    assert recursive and stepwise == recursive
