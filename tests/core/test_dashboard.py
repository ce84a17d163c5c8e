"""The home page: counts, reviews, alerts, deployments with hourly sparklines and spend, for all
of a user's projects or one, without strangers' rows, at a fixed number of queries."""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.models import Job, JobStatus, Role
from apps.core.services.projects import membership_add, project_create
from apps.costs.models import Budget
from apps.datasets.models import Dataset
from apps.deployments.models import PredictionLog
from apps.experiments.models import TrainingJob
from apps.monitoring.models import Alert, AlertRule, Monitor
from apps.registry.models import PromotionRequest, Stage
from tests.deployments.conftest import deployment_factory  # noqa: F401
from tests.monitoring.conftest import feature_rows, log_predictions
from tests.registry.conftest import model_version_factory  # noqa: F401

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _counts(html: str) -> dict[str, int]:
    found = re.findall(r'data-count="(\w+)"[^>]*><span class="value">(\d+)</span>', html)
    return {name: int(value) for name, value in found}


def _chart_data(html: str) -> dict:
    match = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html)
    assert match, "no chart data on the page"
    return json.loads(match.group(1))


def _alert(project, deployment, *, status: str = "open", n: int = 0) -> Alert:
    monitor, _ = Monitor.objects.get_or_create(
        project=project, deployment=deployment, name="drift", defaults={"schedule_minutes": 0}
    )
    rule = AlertRule.objects.create(monitor=monitor, kind="drift_share_above", threshold=0.1 + n)
    return Alert.objects.create(
        project=project, monitor=monitor, rule=rule, kind=rule.kind, status=status,
        message=f"drift share high {n}", value=0.5, opened_at=timezone.now(),
    )  # fmt: skip


def _pending(version, requester) -> PromotionRequest:
    return PromotionRequest.objects.create(
        model_version=version, target="staging", justification="ready",
        requested_by=requester, approvals_required=1,
        expires_at=timezone.now() + timedelta(days=7),
    )  # fmt: skip


def _estate(project, factory, deploy, requester, *, name: str) -> dict:
    """One project's worth of everything the dashboard counts."""
    Dataset.objects.create(project=project, name=f"{name}-extra")
    Job.objects.create(project=project, kind="training.train", status=JobStatus.RUNNING)
    Job.objects.create(project=project, kind="training.train", status=JobStatus.QUEUED)
    version = factory(project=project, name=name, stage=Stage.STAGING)
    deployment, _ = deploy(stable=version, slug=f"{name}-staging")
    log_predictions(deployment, feature_rows(20), errors=2)
    _alert(project, deployment)
    _pending(factory(project=project, name=name), requester)
    Budget.objects.create(project=project, amount=Decimal("100"), currency="EUR")
    return {"version": version, "deployment": deployment}


def test_counts_and_lists_cover_my_projects_only(
    world,
    model_version_factory,  # noqa: F811
    deployment_factory,  # noqa: F811
):
    alpha = _estate(
        world.alpha, model_version_factory, deployment_factory, world.users["carl"], name="churn"
    )
    # A stranger's project full of rows: none of it may show.
    _estate(
        world.beta, model_version_factory, deployment_factory, world.users["eve"], name="secret"
    )
    _alert(world.alpha, alpha["deployment"], status="resolved", n=5)

    html = _client(world.users["rita"]).get("/").content.decode()

    # Datasets: the extra one and one per model version made by the factory (two versions).
    assert _counts(html) == {
        "datasets": 2,
        "jobs_running": 1,
        "jobs_queued": 1,
        "models": 1,
        "live_deployments": 1,
        "open_alerts": 1,
        "reviews": 1,
    }
    assert "secret" not in html and "Beta" not in html
    request = PromotionRequest.objects.get(model_version__registered_model__project=world.alpha)
    assert f'href="/promotions/{request.pk}/"' in html
    assert 'href="/deployments/churn-staging/"' in html
    assert "drift share high 0" in html and "drift share high 5" not in html
    data = _chart_data(html)
    assert [line["slug"] for line in data["sparklines"]] == ["churn-staging"]
    assert [row["project"] for row in data["spend"]] == ["alpha"]


def test_reviews_are_the_ones_i_may_decide(world, model_version_factory):  # noqa: F811
    _pending(model_version_factory(), world.users["carl"])
    for name, expected in (("rita", 1), ("alice", 1), ("carl", 0), ("vera", 0)):
        html = _client(world.users[name]).get("/").content.decode()
        assert _counts(html)["reviews"] == expected, name
    assert "Nothing waiting for you." in _client(world.users["vera"]).get("/").content.decode()


def test_the_project_switcher_narrows_everything_and_hides_strangers(
    world,
    model_version_factory,  # noqa: F811
    deployment_factory,  # noqa: F811
):
    alice = world.users["alice"]
    gamma = project_create(creator=alice, slug="gamma", name="Gamma")
    membership_add(actor=alice, project=gamma, username="rita", role=Role.REVIEWER)
    _estate(world.alpha, model_version_factory, deployment_factory, world.users["carl"], name="a")
    _estate(gamma, model_version_factory, deployment_factory, world.users["carl"], name="g")
    client = _client(world.users["rita"])

    everything = client.get("/").content.decode()
    assert _counts(everything)["live_deployments"] == 2
    assert _counts(everything)["reviews"] == 2

    response = client.get("/", {"project": "gamma"})
    assert response.status_code == 200
    html = response.content.decode()
    assert _counts(html) == {
        "datasets": 2,
        "jobs_running": 1,
        "jobs_queued": 1,
        "models": 1,
        "live_deployments": 1,
        "open_alerts": 1,
        "reviews": 1,
    }
    assert 'data-scope="gamma"' in html
    assert 'href="/deployments/g-staging/"' in html and "a-staging" not in html
    data = _chart_data(html)
    assert [line["slug"] for line in data["sparklines"]] == ["g-staging"]
    assert [row["project"] for row in data["spend"]] == ["gamma"]
    # The live jobs panel polls the same project.
    assert "/partials/jobs/?project=gamma" in html

    # A stranger's project and a made-up one look the same: not found.
    assert client.get("/", {"project": "beta"}).status_code == 404
    assert client.get("/", {"project": "nope"}).status_code == 404


def _hour(hours_ago: int):
    top = timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return top - timedelta(hours=hours_ago) + timedelta(minutes=30)


def test_sparklines_count_requests_and_errors_per_hour(
    world,
    model_version_factory,  # noqa: F811
    deployment_factory,  # noqa: F811
):
    deployment, _ = deployment_factory()
    log_predictions(deployment, feature_rows(30), at=_hour(2), errors=3)
    log_predictions(deployment, feature_rows(10), at=_hour(5))
    log_predictions(deployment, feature_rows(50), at=_hour(30))  # older than a day
    # A shadow copy answers nobody: not traffic.
    revision = deployment.current_revision
    PredictionLog.objects.create(
        deployment=deployment, revision_id=revision.pk, model_version_id=revision.stable_id,
        request_id="shadow-1", inputs={}, output="no", latency_ms=1, shadow=True,
        created_at=_hour(2),
    )  # fmt: skip
    deployment_factory(
        stable=model_version_factory(name="quiet", stage=Stage.STAGING), slug="quiet-staging"
    )

    html = _client(world.users["vera"]).get("/").content.decode()
    lines = {line["slug"]: line for line in _chart_data(html)["sparklines"]}
    line = lines["churn-staging"]
    assert len(line["hours"]) == len(line["requests"]) == len(line["errors"]) == 24
    assert line["hours"][-1].startswith(_hour(0).strftime("%Y-%m-%dT%H:00"))
    assert line["requests"][-3] == 33 and line["errors"][-3] == round(100 * 3 / 33, 2)
    assert line["requests"][-6] == 10 and line["errors"][-6] == 0
    assert sum(line["requests"]) == 43
    # An hour without requests has no error rate, not a false 0 %.
    assert line["errors"][-1] is None
    assert lines["quiet-staging"]["requests"] == [0] * 24
    row = re.search(r'<tr data-deployment="churn-staging">.*?</tr>', html, re.S).group(0)
    assert 'data-total="requests">43<' in row and "7.0%" in row
    assert row.count('class="sparkline"') == 2


def test_spend_against_budget_comes_from_the_costs_app(
    world,
    model_version_factory,  # noqa: F811
):
    version = model_version_factory()
    TrainingJob.objects.filter(pk=version.training_job_id).update(cost=Decimal("85.5"))
    Budget.objects.create(project=world.alpha, amount=Decimal("100"), currency="EUR")

    html = _client(world.users["vera"]).get("/").content.decode()
    spend = _chart_data(html)["spend"]
    assert spend == [
        {"project": "alpha", "name": "Alpha", "spent": 85.5, "budget": 100.0, "currency": "EUR"}
    ]
    assert 'id="spend-chart"' in html
    assert "85.50 EUR" in html and "86%" in html


def test_spend_empty_state_without_spend_or_budget(world):
    html = _client(world.users["vera"]).get("/").content.decode()
    assert 'data-spend="empty"' in html
    assert _chart_data(html)["spend"] is None


def test_a_user_without_projects_sees_an_empty_dashboard(world):
    from django.contrib.auth import get_user_model

    loner = get_user_model().objects.create_user("loner", password="x")
    html = _client(loner).get("/").content.decode()
    assert set(_counts(html).values()) == {0}
    assert "You are not a member of any project yet." in html
    assert "No live deployments" in html


def _queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/").status_code == 200
    return len(ctx.captured_queries)


def test_query_count_is_the_same_for_one_project_and_five(
    world,
    model_version_factory,  # noqa: F811
    deployment_factory,  # noqa: F811
    django_assert_max_num_queries,
):
    alice = world.users["alice"]
    rita = world.users["rita"]
    client = _client(rita)
    _estate(world.alpha, model_version_factory, deployment_factory, world.users["carl"], name="m0")
    one = _queries(client)
    for i in range(1, 5):
        project = project_create(creator=alice, slug=f"p{i}", name=f"P{i}")
        membership_add(actor=alice, project=project, username="rita", role=Role.REVIEWER)
        _estate(
            project, model_version_factory, deployment_factory, world.users["carl"], name=f"m{i}"
        )
    five = _queries(client)
    assert five == one
    html = client.get("/").content.decode()
    assert _counts(html)["live_deployments"] == 5 and _counts(html)["reviews"] == 5
    # Session, user, the navigation badges and the page's own reads: a small fixed number.
    with django_assert_max_num_queries(20):
        client.get("/")
    with django_assert_max_num_queries(20):
        client.get("/", {"project": "p3"})


def test_a_superuser_sees_every_project(world, model_version_factory):  # noqa: F811
    model_version_factory(project=world.beta, name="secret")
    html = _client(world.users["root"]).get("/").content.decode()
    assert 'data-project="alpha"' in html and 'data-project="beta"' in html
    assert _counts(html)["models"] == 1
    assert "superuser" in html
