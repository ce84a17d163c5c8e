from __future__ import annotations

from celery import shared_task

from apps.costs.services import budgets_check_all


@shared_task(name="costs.check_budgets")
def check_budgets() -> int:
    return budgets_check_all()
