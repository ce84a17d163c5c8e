"""Actions on a deployment that each make a new revision: canary traffic, promote, abort,
rollback; and the deployment an approved promotion creates or updates."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.exceptions import ValidationError

from apps.deployments.models import Deployment, Revision, Strategy
from apps.deployments.services.deployments import deployment_for
from apps.deployments.services.errors import Conflict
from apps.deployments.services.revisions import (
    CANDIDATE_STRATEGIES,
    revision_create,
    revision_previous,
)
from apps.registry.models import ModelVersion, PromotionRequest
from apps.registry.selectors.policies import policy_for


def _current(deployment: Deployment, *strategies: str) -> Revision:
    deployment.refresh_from_db(fields=["current_revision"])
    current = deployment.current_revision
    if current is None:
        raise Conflict("This deployment has no revision yet.")
    if strategies and current.strategy not in strategies:
        raise Conflict(
            f"Revision {current.number} is {current.strategy}; this needs "
            f"{' or '.join(strategies)}."
        )
    return current


def canary_set_percent(
    *, actor: AbstractBaseUser, deployment: Deployment, percent: int, reason: str = ""
) -> Revision:
    current = _current(deployment, Strategy.CANARY)
    if not 1 <= percent <= 99:
        raise ValidationError({"percent": ["A canary sends 1 to 99 percent of traffic."]})
    return revision_create(
        actor=actor, deployment=deployment, strategy=Strategy.CANARY, stable=current.stable,
        candidate=current.candidate, canary_percent=percent,
        sticky_header=current.sticky_header, action="canary_percent", reason=reason,
    )  # fmt: skip


def canary_promote(
    *, actor: AbstractBaseUser, deployment: Deployment, reason: str = ""
) -> Revision:
    """The candidate takes all traffic: a direct revision on it."""
    current = _current(deployment, *CANDIDATE_STRATEGIES)
    return revision_create(
        actor=actor, deployment=deployment, strategy=Strategy.DIRECT, stable=current.candidate,
        action="canary_promote", reason=reason,
    )  # fmt: skip


def canary_abort(*, actor: AbstractBaseUser, deployment: Deployment, reason: str = "") -> Revision:
    """Back to the stable version only."""
    current = _current(deployment, *CANDIDATE_STRATEGIES)
    return revision_create(
        actor=actor, deployment=deployment, strategy=Strategy.DIRECT, stable=current.stable,
        action="canary_abort", reason=reason,
    )  # fmt: skip


def deployment_rollback(
    *, actor: AbstractBaseUser, deployment: Deployment, to: int | None = None, reason: str = ""
) -> Revision:
    """A new revision repeating an earlier revision's routing (default: the previous one)."""
    _current(deployment)
    target = revision_previous(deployment, to)
    if target is None:
        if to is not None:
            raise Conflict({"revision": [f"This deployment has no revision {to}."]})
        raise Conflict("There is no previous revision to roll back to.")
    if target.pk == deployment.current_revision_id:
        raise Conflict({"revision": [f"Revision {to} is the current revision."]})
    return revision_create(
        actor=actor, deployment=deployment, strategy=target.strategy, stable=target.stable,
        candidate=target.candidate, canary_percent=target.canary_percent,
        sticky_header=target.sticky_header, action="rollback",
        reason=reason or f"rollback to revision {target.number}", rolled_back_to=target,
    )  # fmt: skip


def deployment_revision_for_promotion(
    *, actor: AbstractBaseUser, request: PromotionRequest
) -> Revision | None:
    """Called inside the approval's transaction: the environment of the promotion's stage
    serves the newly promoted version, directly or, when the stage's policy says canary, as a
    canary beside the version it served so far."""
    # Read again: the approval just moved the stage on another instance of this row.
    version = ModelVersion.objects.select_related("registered_model__project").get(
        pk=request.model_version_id
    )
    deployment = deployment_for(
        model=version.registered_model, environment=request.target, actor=actor
    )
    current = deployment.current_revision
    if (
        current is not None
        and current.strategy == Strategy.DIRECT
        and current.stable_id == version.pk
    ):
        return None
    policy = policy_for(version.registered_model, request.target)
    if (
        policy.deploy_strategy == "canary"
        and current is not None
        and current.stable_id != version.pk
    ):
        return revision_create(
            actor=actor, deployment=deployment, strategy=Strategy.CANARY, stable=current.stable,
            candidate=version, canary_percent=policy.canary_percent, action="promotion",
            reason=f"promotion #{request.pk} approved: canary at {policy.canary_percent}%",
            promotion_request=request, check_role=False,
        )  # fmt: skip
    return revision_create(
        actor=actor, deployment=deployment, strategy=Strategy.DIRECT, stable=version,
        action="promotion", reason=f"promotion #{request.pk} approved",
        promotion_request=request, check_role=False,
    )  # fmt: skip
