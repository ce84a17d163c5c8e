"""Promotion policies (with their defaults) and who may review what."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, QuerySet

from apps.core.models import Membership, Role
from apps.registry.models import PromotionPolicy, PromotionRequest, RegisteredModel, RequestStatus
from apps.registry.models import Review as ReviewRow

LOWER_IS_BETTER = ("loss", "rmse", "mae", "error")
PRIMARY_BY_TASK = {"classification": "accuracy", "regression": "rmse"}


@dataclass(frozen=True)
class Policy:
    """A stage's policy as the gates apply it, defaults filled in."""

    stage: str
    approvals_required: int
    primary_metric: str
    direction: str  # "max" or "min"
    floor: float | None
    tolerance: float
    require_validation: bool
    expiry_days: int
    deploy_strategy: str  # "direct" or "canary": how an approval reaches the deployment
    canary_percent: int
    stored: bool  # False: nobody has edited it, these are the defaults


def default_direction(metric: str) -> str:
    return "min" if any(word in metric.lower() for word in LOWER_IS_BETTER) else "max"


def policy_for(model: RegisteredModel, stage: str, *, task: str = "") -> Policy:
    """The policy for promoting `model`'s versions to `stage`. An empty primary metric means
    the task's default (accuracy for classification, rmse for regression)."""
    row = PromotionPolicy.objects.filter(registered_model=model, stage=stage).first()
    if row is None:
        row = PromotionPolicy(
            registered_model=model,
            stage=stage,
            approvals_required=PromotionPolicy.DEFAULT_APPROVALS.get(stage, 1),
        )
        stored = False
    else:
        stored = True
    metric = row.primary_metric or PRIMARY_BY_TASK.get(task, "")
    return Policy(
        stage=stage,
        approvals_required=row.approvals_required,
        primary_metric=metric,
        direction=row.direction or default_direction(metric),
        floor=row.floor,
        tolerance=row.tolerance,
        require_validation=row.require_validation,
        expiry_days=row.expiry_days,
        deploy_strategy=row.deploy_strategy,
        canary_percent=row.canary_percent,
        stored=stored,
    )


def reviewable_requests(*, user: AbstractBaseUser) -> QuerySet[PromotionRequest]:
    """Pending requests this user may decide now: in a project where they are a reviewer or an
    admin, not their own, and not yet reviewed by them."""
    if not user.is_authenticated:
        return PromotionRequest.objects.none()
    requests = PromotionRequest.objects.filter(status=RequestStatus.PENDING).exclude(
        requested_by=user
    )
    if not user.is_superuser:
        reviewer_of = Membership.objects.filter(
            user=user, role__in=[Role.REVIEWER, Role.ADMIN]
        ).values("project_id")
        requests = requests.filter(model_version__registered_model__project__in=reviewer_of)
    already = ReviewRow.objects.filter(request=OuterRef("pk"), reviewer=user)
    return requests.filter(~Exists(already))
