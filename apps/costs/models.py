"""Hourly rates per device type, a monthly budget per project, and the record of budget alerts
already sent (one per project, month and threshold)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

# Percentages of the monthly budget at which people are told; fixed so every project's
# alerts mean the same thing. The event names are the notification events.
THRESHOLDS = {80: "budget.warning", 100: "budget.exceeded"}


class Rate(models.Model):
    """What one hour of a device type costs (training). A device without a row falls back to
    the COST_PER_HOUR_<DEVICE> setting."""

    device = models.CharField(
        max_length=30, unique=True, help_text="Device type as training reports it: cpu, cuda, ..."
    )
    cost_per_hour = models.DecimalField(
        max_digits=12, decimal_places=4, validators=[MinValueValidator(Decimal("0"))]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["device"]

    def __str__(self) -> str:
        return f"{self.device}: {self.cost_per_hour}/h"


class Budget(models.Model):
    """A project's monthly spending limit; alerts go out at each of THRESHOLDS percent."""

    project = models.OneToOneField("core.Project", on_delete=models.CASCADE, related_name="budget")
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(max_length=10)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project__slug"]

    def __str__(self) -> str:
        return f"{self.project.slug}: {self.amount} {self.currency}/month"


class BudgetAlert(models.Model):
    """A threshold crossed in a month. The unique constraint is what makes "sent once" hold:
    a second check (or a concurrent one) finds the row and tells nobody again."""

    project = models.ForeignKey(
        "core.Project", on_delete=models.CASCADE, related_name="budget_alerts"
    )
    month = models.DateField(help_text="First day of the month.")
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the budget.")
    spent = models.DecimalField(max_digits=14, decimal_places=4)
    budget = models.DecimalField(max_digits=14, decimal_places=2)
    notified = models.BooleanField(
        default=True, help_text="False when a higher threshold crossed at once was told instead."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "project_id", "threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "month", "threshold"], name="uniq_budget_alert"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.month:%Y-%m} {self.threshold}%"
