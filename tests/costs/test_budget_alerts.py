"""Budget alerts: once per project, month and threshold, to contributors and above, through
the inbox and the project's webhooks; from the service, the beat task and a training job's end."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from apps.core.models import AuditEvent, Job
from apps.costs.models import Budget, BudgetAlert
from apps.costs.periods import current_month, next_month
from apps.costs.services import budget_check, budget_create, budgets_check_all
from apps.notifications.models import InboxItem, Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def budget(world):
    return budget_create(actor=world.users["alice"], project=world.alpha, amount=Decimal("100"))


def _inbox(event: str) -> list[str]:
    users = InboxItem.objects.filter(event=event).values_list("user__username", flat=True)
    return sorted(users)


def test_thresholds_fire_once_each_and_a_new_month_starts_fresh(world, budget, spend):
    hook = Webhook.objects.create(
        project=world.alpha, url="https://hooks.example.com/x", secret="s" * 20,
        events=["budget.warning", "budget.exceeded"],
    )  # fmt: skip
    spend("79.99")
    assert budget_check(project_id=world.alpha.pk) == []
    assert not InboxItem.objects.exists()

    spend("0.02")  # 80.01: crosses 80%
    rows = budget_check(project_id=world.alpha.pk)
    assert [(r.threshold, r.notified) for r in rows] == [(80, True)]
    # Contributors and above are told; the viewer and the stranger are not.
    assert _inbox("budget.warning") == ["alice", "carl", "rita"]
    delivery = WebhookDelivery.objects.get(webhook=hook)
    assert delivery.event == "budget.warning"
    data = delivery.payload["data"]
    assert data["threshold"] == 80 and data["spent"] == pytest.approx(80.01)
    assert AuditEvent.objects.filter(action="budget.warning", project=world.alpha).count() == 1

    assert budget_check(project_id=world.alpha.pk) == []  # again: nothing new
    assert InboxItem.objects.count() == 3

    spend("20")  # 100.01: crosses 100%
    rows = budget_check(project_id=world.alpha.pk)
    assert [r.threshold for r in rows] == [100]
    assert _inbox("budget.exceeded") == ["alice", "carl", "rita"]
    assert budget_check(project_id=world.alpha.pk) == []
    assert WebhookDelivery.objects.filter(webhook=hook).count() == 2

    following = next_month(current_month())
    assert budget_check(project_id=world.alpha.pk, month=following) == []
    spend("85", when=datetime(following.year, following.month, 2, tzinfo=UTC))
    rows = budget_check(project_id=world.alpha.pk, month=following)
    assert [(r.threshold, r.month) for r in rows] == [(80, following)]
    assert BudgetAlert.objects.filter(project=world.alpha).count() == 3


def test_a_jump_past_both_thresholds_tells_once(world, budget, spend):
    spend("120")
    rows = budget_check(project_id=world.alpha.pk)
    assert [(r.threshold, r.notified) for r in rows] == [(80, False), (100, True)]
    assert _inbox("budget.warning") == []
    assert _inbox("budget.exceeded") == ["alice", "carl", "rita"]


def test_other_projects_spend_and_projects_without_budget(world, budget, spend):
    spend("500", project=world.beta)  # beta has no budget; its spend is not alpha's
    assert budgets_check_all() == 0
    assert not BudgetAlert.objects.exists()
    assert budget_check(project_id=world.beta.pk) == []


def test_lowering_the_budget_alerts_on_commit(
    world, budget, spend, django_capture_on_commit_callbacks
):
    from apps.costs.services import budget_update

    spend("50")
    with django_capture_on_commit_callbacks(execute=True):
        budget_update(actor=world.users["alice"], budget=budget, amount=Decimal("60"))
    assert BudgetAlert.objects.get(project=world.alpha).threshold == 80


def test_a_training_job_ending_prices_it_and_checks_the_budget(
    world, budget, spend, django_capture_on_commit_callbacks
):
    from apps.core.services.jobs import _finish
    from apps.costs.models import Rate
    from apps.experiments.services.training import training_job_complete

    spend("70")
    # An admin-set rate wins over COST_PER_HOUR_CUDA: 2 hours at 6/h = 12, past 80 of 100.
    Rate.objects.create(device="cuda", cost_per_hour=Decimal("6"))
    training = spend("0")
    Job.objects.filter(pk=training.job_id).update(status="running", finished_at=None)
    result = SimpleNamespace(
        status="failed", mlflow_run_id="", metrics={}, history=[], epochs_run=1,
        resources={"device": "cuda", "wall_seconds": 7200}, registered_model_version=None,
    )  # fmt: skip
    training_job_complete(training_id=training.pk, result=result)
    with django_capture_on_commit_callbacks(execute=True):
        assert _finish(training.job_id, "failed", error="boom")
    training.refresh_from_db()
    assert training.cost == Decimal("12.0000")
    alert = BudgetAlert.objects.get(project=world.alpha)
    assert (alert.threshold, alert.spent) == (80, Decimal("82.0000"))
    assert _inbox("budget.warning") == ["alice", "carl", "rita"]


def test_the_beat_task_checks_every_budget(world, budget, spend):
    from apps.costs.tasks import check_budgets

    Budget.objects.create(project=world.beta, amount=Decimal("10"), currency="EUR")
    spend("9", project=world.beta)
    spend("1")
    assert check_budgets() == 1  # the task body, as the beat runs it
    assert BudgetAlert.objects.get().project == world.beta
    assert _inbox("budget.warning") == ["eve"]
