"""Spend: monthly_spend's shape and scoping, the breakdowns, serving cost and cost per 1,000
predictions, and the cost report API (validation, scoping, a fixed number of queries)."""

# Fixtures are imported from other test modules and requested by name.
# ruff: noqa: F811

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from apps.costs.models import Budget
from apps.costs.selectors import cost_breakdown, monthly_spend, per_thousand
from apps.deployments.models import Deployment, PredictionLog
from apps.experiments.models import Sweep
from tests.deployments.conftest import deployment_factory  # noqa: F401
from tests.registry.conftest import model_version_factory  # noqa: F401

pytestmark = pytest.mark.django_db

JAN = date(2025, 1, 1)
IN_JAN = datetime(2025, 1, 15, 12, tzinfo=UTC)


def _sweep(training) -> Sweep:
    return Sweep.objects.create(
        project=training.experiment.project, experiment=training.experiment,
        dataset_version=training.dataset_version, target="label", task="classification",
        template="mlp", model_name=training.model_name, space={}, strategy="grid",
        max_trials=2, max_parallel=1, metric="accuracy", direction="max",
    )  # fmt: skip


def test_monthly_spend_shape_and_scoping(world, spend):
    Budget.objects.create(project=world.alpha, amount=100, currency="EUR")
    spend("3.5")
    spend("1.25")
    spend("7", project=world.beta)
    spend("1000", when=datetime(2020, 5, 1, tzinfo=UTC))  # another month

    assert monthly_spend(user=world.users["alice"]) == [
        {"project": "alpha", "name": "Alpha", "spent": 4.75, "budget": 100.0, "currency": "EUR"}
    ]
    assert monthly_spend(user=world.users["eve"]) == [
        {"project": "beta", "name": "Beta", "spent": 7.0, "budget": None, "currency": "USD"}
    ]
    assert [r["project"] for r in monthly_spend(user=world.users["root"])] == ["alpha", "beta"]
    assert monthly_spend(user=world.users["eve"], project="alpha") == []
    assert monthly_spend(user=world.users["root"], project=world.beta)[0]["spent"] == 7.0
    may = monthly_spend(user=world.users["alice"], month=date(2020, 5, 1))
    assert may[0]["spent"] == 1000.0


def test_breakdown_by_kind_model_and_top_jobs(world, spend):
    spend("2", when=IN_JAN, model="churn")
    trial = spend("5", when=IN_JAN, model="churn")
    trial.sweep = _sweep(trial)
    trial.save()
    spend("1", when=IN_JAN, model="fraud")
    spend("9", when=IN_JAN, project=world.beta, model="secret")

    report = cost_breakdown(user=world.users["alice"], month=JAN)
    assert report["month"] == "2025-01" and report["total"] == 8.0
    assert report["by_kind"] == [
        {"kind": "training", "cost": 3.0},
        {"kind": "sweeps", "cost": 5.0},
        {"kind": "serving", "cost": 0.0},
    ]
    assert [(m["model"], m["total"]) for m in report["by_model"]] == [
        ("churn", 7.0),
        ("fraud", 1.0),
    ]
    assert [j["cost"] for j in report["top_jobs"]] == [5.0, 2.0, 1.0]
    assert report["top_jobs"][0]["sweep"] == trial.sweep_id
    assert report["serving_configured"] is False and report["deployments"] == []


def test_serving_cost_and_cost_per_thousand_predictions(
    world,
    settings,
    deployment_factory,
):
    settings.SERVING_COST_PER_HOUR = 0.5
    settings.SERVING_PROCESSES_PER_DEPLOYMENT = 2
    deployment, _ = deployment_factory()
    # Alive for the whole of January: 31 days x 24 h x 2 processes x 0.5 = 744.
    Deployment.objects.filter(pk=deployment.pk).update(created_at=datetime(2024, 12, 1, tzinfo=UTC))
    revision = deployment.current_revision
    rows = [
        PredictionLog(
            deployment=deployment,
            revision_id=revision.pk,
            model_version_id=revision.stable_id,
            request_id=f"r{i}",
            inputs={},
            output="x",
            latency_ms=1.0,
            created_at=IN_JAN,
            shadow=i >= 2000,
        )
        for i in range(2100)
    ]
    PredictionLog.objects.bulk_create(rows)
    PredictionLog.objects.create(
        deployment=deployment, revision_id=revision.pk, model_version_id=revision.stable_id,
        request_id="feb", inputs={}, latency_ms=1.0, created_at=datetime(2025, 2, 1, tzinfo=UTC),
    )  # fmt: skip

    report = cost_breakdown(user=world.users["vera"], month=JAN)
    [row] = report["deployments"]
    assert row["hours"] == 744.0 and row["cost"] == 744.0
    assert row["predictions"] == 2000  # shadow copies and February's are not counted
    assert row["cost_per_1k_predictions"] == 372.0  # 744 / 2000 x 1000
    assert report["by_kind"][2] == {"kind": "serving", "cost": 744.0}
    assert report["by_model"][0]["serving"] == 744.0
    assert monthly_spend(user=world.users["vera"], month=JAN)[0]["spent"] == 744.0
    # Not alive yet in November; the stranger sees nothing of it.
    assert cost_breakdown(user=world.users["vera"], month=date(2024, 11, 1))["deployments"] == []
    assert cost_breakdown(user=world.users["eve"], month=JAN)["deployments"] == []


def test_per_thousand_is_unknown_without_predictions_or_cost():
    assert per_thousand(10.0, 0) is None
    assert per_thousand(0.0, 500) is None
    assert per_thousand(3.0, 1500) == 2.0


def test_cost_api_validates_and_scopes(world, api, spend):
    spend("4")
    client = api(world.users["alice"])
    for bad in ("2025-13", "25-01", "january", "9999-12"):
        answer = client.get("/api/v1/costs/", {"month": bad})
        assert answer.status_code == 400, bad
        assert "month" in answer.json()
    assert client.get("/api/v1/costs/", {"project": "beta"}).status_code == 404
    assert client.get("/api/v1/costs/", {"project": "nope"}).status_code == 404
    body = client.get("/api/v1/costs/", {"month": "", "project": ""}).json()
    assert body["month"] == timezone.now().strftime("%Y-%m")
    assert body["by_project"][0]["spent"] == 4.0
    eve = api(world.users["eve"]).get("/api/v1/costs/").json()
    assert [r["project"] for r in eve["by_project"]] == ["beta"] and eve["total"] == 0.0
    assert api().get("/api/v1/costs/").status_code in (401, 403)


def test_cost_api_query_count_is_fixed(
    world,
    api,
    spend,
    settings,
    deployment_factory,
    model_version_factory,
    django_assert_max_num_queries,
):
    settings.SERVING_COST_PER_HOUR = 1.0
    client = api(world.users["alice"])
    spend("1")
    deployment_factory()
    with django_assert_max_num_queries(12) as few:
        assert client.get("/api/v1/costs/").status_code == 200
    for i in range(15):
        spend(str(i + 1), model=f"m{i}")
        spend(str(i + 1), project=world.beta, model=f"b{i}")
    for i in range(5):
        deployment_factory(
            slug=f"d{i}", stable=model_version_factory(name=f"dm{i}", stage="staging")
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get("/api/v1/costs/").json()
    assert len(body["top_jobs"]) == 10 and len(body["deployments"]) == 6
