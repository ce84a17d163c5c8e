"""Budgets (set by project admins) and the budget check that tells people, once per project,
month and threshold, that spending reached 80% or 100% of the budget."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse
from rest_framework.exceptions import ValidationError

from apps.core.models import Membership, Project, Role
from apps.core.permissions import require_role
from apps.core.services.audit import audit_record
from apps.costs.models import THRESHOLDS, Budget, BudgetAlert
from apps.costs.periods import current_month
from apps.costs.selectors import monthly_spend
from apps.notifications.services import notify

log = logging.getLogger(__name__)


def _check_on_commit(project_id: int) -> None:
    # A lowered budget may already be crossed: say so now rather than at the next beat.
    transaction.on_commit(lambda: budget_check_safe(project_id=project_id), robust=True)


def budget_create(
    *, actor: AbstractBaseUser, project: Project, amount: Decimal, currency: str = ""
) -> Budget:
    require_role(actor, project, Role.ADMIN)
    with transaction.atomic():
        # Locking the project serialises two creates: the second gets a 400, not an IntegrityError.
        Project.objects.select_for_update().get(pk=project.pk)
        if Budget.objects.filter(project=project).exists():
            raise ValidationError(
                {"project": [f"Project '{project.slug}' already has a budget; change it instead."]}
            )
        budget = Budget.objects.create(
            project=project, amount=amount, currency=currency or settings.COST_CURRENCY,
            created_by=actor, updated_by=actor,
        )  # fmt: skip
        audit_record(
            actor=actor, action="budget.create", obj=budget, project=project,
            changes={"amount": str(budget.amount), "currency": budget.currency},
        )  # fmt: skip
        _check_on_commit(project.pk)
    return budget


def budget_update(
    *,
    actor: AbstractBaseUser,
    budget: Budget,
    amount: Decimal | None = None,
    currency: str | None = None,
) -> Budget:
    require_role(actor, budget.project, Role.ADMIN)
    with transaction.atomic():
        locked = Budget.objects.select_for_update().select_related("project").get(pk=budget.pk)
        changes = {}
        if amount is not None and amount != locked.amount:
            changes["amount"] = {"from": str(locked.amount), "to": str(amount)}
            locked.amount = amount
        if currency and currency != locked.currency:
            changes["currency"] = {"from": locked.currency, "to": currency}
            locked.currency = currency
        if changes:
            locked.updated_by = actor
            locked.save()
            audit_record(
                actor=actor, action="budget.update", obj=locked, project=locked.project,
                changes=changes,
            )  # fmt: skip
            _check_on_commit(locked.project_id)
    return locked


def budget_delete(*, actor: AbstractBaseUser, budget: Budget) -> None:
    require_role(actor, budget.project, Role.ADMIN)
    with transaction.atomic():
        locked = Budget.objects.select_for_update().select_related("project").get(pk=budget.pk)
        audit_record(
            actor=actor, action="budget.delete", obj=locked, project=locked.project,
            changes={"amount": str(locked.amount), "currency": locked.currency},
        )  # fmt: skip
        locked.delete()


def budget_recipients(*, project_id: int) -> list[AbstractBaseUser]:
    """Who hears about budgets: members who spend (contributors) and those who set the budget
    (admins), plus reviewers, as for monitoring alerts. Viewers are not told."""
    roles = [Role.CONTRIBUTOR, Role.REVIEWER, Role.ADMIN]
    members = Membership.objects.filter(project_id=project_id, role__in=roles).select_related(
        "user"
    )
    return [m.user for m in members.order_by("user__username") if m.user.is_active]


def budget_check(*, project_id: int, month: date | None = None) -> list[BudgetAlert]:
    """Record and announce the thresholds the project's spend reached in `month` (default: this
    month) that were not announced yet. Thresholds crossed together announce only the highest
    (one message, not two); the lower is recorded, so it never fires later. Returns the new rows."""
    month = month or current_month()
    with transaction.atomic():
        # The budget row lock serialises checks of one project (the beat and a job ending).
        budget = (
            Budget.objects.select_for_update().select_related("project")
            .filter(project_id=project_id).first()
        )  # fmt: skip
        if budget is None:
            return []
        project = budget.project
        spend = monthly_spend(user=None, project=project, month=month)
        spent = Decimal(str(spend[0]["spent"])) if spend else Decimal(0)
        done = set(
            BudgetAlert.objects.filter(project=project, month=month).values_list(
                "threshold", flat=True
            )
        )
        reached = [t for t in sorted(THRESHOLDS) if spent * 100 >= budget.amount * t]
        new = [t for t in reached if t not in done]
        if not new:
            return []
        rows = [
            BudgetAlert.objects.create(
                project=project,
                month=month,
                threshold=t,
                spent=spent,
                budget=budget.amount,
                notified=t == new[-1],
            )
            for t in new
        ]
        for row in rows:
            audit_record(
                actor=None, action=THRESHOLDS[row.threshold], obj=row, project=project,
                changes={"month": month.strftime("%Y-%m"), "threshold": row.threshold,
                         "spent": str(spent), "budget": str(budget.amount),
                         "notified": row.notified},
            )  # fmt: skip
        _announce(rows[-1], budget)
    return rows


def _announce(alert: BudgetAlert, budget: Budget) -> None:
    project = budget.project
    month = alert.month.strftime("%Y-%m")
    percent = float(alert.spent / budget.amount * 100)
    verb = "exceeded" if alert.threshold >= 100 else f"reached {alert.threshold}% of"
    url = f"{reverse('costs')}?month={month}&project={project.slug}"
    notify(
        event=THRESHOLDS[alert.threshold], project=project,
        users=budget_recipients(project_id=project.pk),
        title=f"{project.name} {verb} its {month} budget",
        body=f"Spent {alert.spent:.2f} of {budget.amount:.2f} {budget.currency} "
             f"({percent:.0f}%) in {month}.",
        url=url,
        payload={
            "project": project.slug, "month": month, "threshold": alert.threshold,
            "spent": float(alert.spent), "budget": float(budget.amount),
            "currency": budget.currency, "percent": round(percent, 2), "url": url,
        },
    )  # fmt: skip


def budget_check_safe(*, project_id: int) -> None:
    """For callbacks: a failing check is logged and retried by the next beat."""
    try:
        budget_check(project_id=project_id)
    except Exception:
        log.exception("budget check of project %s failed", project_id)


def budgets_check_all() -> int:
    """The beat's sweep over every budget; returns how many alerts it recorded."""
    count = 0
    for project_id in Budget.objects.values_list("project_id", flat=True).order_by("project_id"):
        try:
            count += len(budget_check(project_id=project_id))
        except Exception:
            log.exception("budget check of project %s failed", project_id)
    return count
