"""Promotion policies, edited by project admins; each edit is audited with before and after."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.exceptions import ValidationError

from apps.core.services.audit import audit_record
from apps.registry.models import PromotionPolicy, RegisteredModel

POLICY_STAGES = ("staging", "production")
POLICY_FIELDS = (
    "approvals_required",
    "primary_metric",
    "direction",
    "floor",
    "tolerance",
    "require_validation",
    "expiry_days",
    "deploy_strategy",
    "canary_percent",
)


def policy_update(
    *,
    actor: AbstractBaseUser,
    model: RegisteredModel,
    stage: str,
    approvals_required: int,
    primary_metric: str = "",
    direction: str = "",
    floor: float | None = None,
    tolerance: float = 0.01,
    require_validation: bool = True,
    expiry_days: int = 7,
    deploy_strategy: str = "direct",
    canary_percent: int = 10,
) -> PromotionPolicy:
    """Store the whole policy for one stage (values not given take the defaults). Requests
    already open keep the approvals they were created with."""
    if stage not in POLICY_STAGES:
        raise ValidationError({"stage": [f"Unknown stage '{stage}'; one of staging, production."]})
    values = {
        "approvals_required": approvals_required,
        "primary_metric": primary_metric.strip(),
        "direction": direction,
        "floor": floor,
        "tolerance": tolerance,
        "require_validation": require_validation,
        "expiry_days": expiry_days,
        "deploy_strategy": deploy_strategy,
        "canary_percent": canary_percent,
    }
    with transaction.atomic():
        # get_or_create survives two admins saving a model's first policy at once.
        row, created = PromotionPolicy.objects.get_or_create(
            registered_model=model,
            stage=stage,
            defaults={"approvals_required": PromotionPolicy.DEFAULT_APPROVALS.get(stage, 1)},
        )
        row = PromotionPolicy.objects.select_for_update().get(pk=row.pk)
        before = {field: getattr(row, field) for field in POLICY_FIELDS}
        for field, value in values.items():
            setattr(row, field, value)
        row.updated_by = actor
        row.save()
        changes = {
            field: {"before": before[field], "after": values[field]}
            for field in POLICY_FIELDS
            if created or before[field] != values[field]
        }
        audit_record(
            actor=actor,
            action="promotion_policy.update",
            obj=row,
            project=model.project,
            changes={"registered_model": model.name, "stage": stage, **changes},
        )
    return row
