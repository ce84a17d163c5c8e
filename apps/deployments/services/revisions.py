"""Revisions: every routing change of a deployment is a new, immutable, numbered revision.

Routing per strategy (what the data plane does with a revision):
- direct:     all traffic to `stable`.
- canary:     `canary_percent` of requests to `candidate`, the rest to `stable` (sticky by the
              `sticky_header` request header when set).
- shadow:     `stable` answers; `candidate` gets a copy of every request, its output only logged.
- blue_green: `candidate` was loaded and checked before the revision existed; it takes all
              traffic, `stable` stays named as the version to fall back to.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.core.models import Role
from apps.core.permissions import require_role
from apps.core.services.audit import audit_record
from apps.deployments.models import Deployment, Revision, Strategy
from apps.deployments.services.errors import Conflict
from apps.registry.models import ModelVersion, PromotionRequest

CANDIDATE_STRATEGIES = (Strategy.CANARY, Strategy.SHADOW, Strategy.BLUE_GREEN)


def _validate_shape(
    *, deployment: Deployment, strategy: str, stable: ModelVersion,
    candidate: ModelVersion | None, canary_percent: int,
) -> None:  # fmt: skip
    errors: dict[str, list[str]] = {}
    if strategy not in Strategy.values:
        errors["strategy"] = [f"'{strategy}' is not one of {', '.join(Strategy.values)}."]
    model_id = deployment.registered_model_id
    if stable.registered_model_id != model_id:
        errors["stable"] = [f"Version {stable.pk} is not a version of this deployment's model."]
    if candidate is not None and candidate.registered_model_id != model_id:
        errors["candidate"] = [
            f"Version {candidate.pk} is not a version of this deployment's model."
        ]
    if strategy == Strategy.DIRECT:
        if candidate is not None:
            errors["candidate"] = ["A direct revision has no candidate; use canary or shadow."]
        if canary_percent:
            errors["canary_percent"] = ["Only a canary revision has a traffic percentage."]
    elif strategy in CANDIDATE_STRATEGIES:
        if candidate is None:
            errors["candidate"] = [f"A {strategy} revision needs a candidate version."]
        elif candidate.pk == stable.pk:
            errors["candidate"] = ["The candidate must differ from the stable version."]
        if strategy == Strategy.CANARY and not 1 <= canary_percent <= 99:
            errors["canary_percent"] = ["A canary sends 1 to 99 percent of traffic."]
        if strategy != Strategy.CANARY and canary_percent:
            errors["canary_percent"] = ["Only a canary revision has a traffic percentage."]
    if errors:
        raise ValidationError(errors)


def served_version_ids(deployment: Deployment) -> set[int]:
    rows = Revision.objects.filter(deployment=deployment).values_list("stable_id", "candidate_id")
    return {pk for pair in rows for pk in pair if pk is not None}


def _check_stage(
    *, deployment: Deployment, stable: ModelVersion, candidate: ModelVersion | None, action: str
) -> None:
    """Only versions approved for the environment's stage go out. A version that already served
    this deployment may come back (a rollback, a canary's stable side, an abort)."""
    stage = deployment.environment
    served = served_version_ids(deployment)
    checks = [("stable", stable, True)]
    if candidate is not None:
        checks.append(("candidate", candidate, action == "rollback"))
    errors = {}
    for field, version, may_return in checks:
        if version.stage == stage or (may_return and version.pk in served):
            continue
        errors[field] = [
            f"Version {version.version} is in stage '{version.stage}', not approved for "
            f"{stage}; request a promotion to {stage} first."
        ]
    if errors:
        raise Conflict(errors)


def _blue_green_check(deployment: Deployment, candidate: ModelVersion) -> None:
    """Load and try the candidate before anything switches. The failure is kept on the
    deployment (its own transaction, so the refusal does not roll it back)."""
    try:
        from apps.deployments.selectors.serving import model_check
    except ImportError:  # the data plane is not installed: nothing to check against
        return
    error = model_check(candidate)
    if error is None:
        return
    message = f"blue_green check of v{candidate.version} failed: {error}"
    Deployment.objects.filter(pk=deployment.pk).update(
        last_error=message[:5000], last_error_at=timezone.now()
    )
    deployment.last_error = message
    raise Conflict({"candidate": [message]})


def revision_create(
    *,
    actor: AbstractBaseUser | None,
    deployment: Deployment,
    strategy: str,
    stable: ModelVersion,
    candidate: ModelVersion | None = None,
    canary_percent: int = 0,
    sticky_header: str = "",
    action: str = "deploy",
    reason: str = "",
    promotion_request: PromotionRequest | None = None,
    rolled_back_to: Revision | None = None,
    check_role: bool = True,
) -> Revision:
    """Validate, number and record a revision and make it the deployment's current one.

    `check_role=False` only for callers that authorised the change themselves (an approved
    promotion)."""
    if check_role:
        require_role(actor, deployment.project, Role.CONTRIBUTOR)
    canary_percent = canary_percent or 0
    _validate_shape(deployment=deployment, strategy=strategy, stable=stable,
                    candidate=candidate, canary_percent=canary_percent)  # fmt: skip
    if strategy == Strategy.BLUE_GREEN and candidate is not None:
        # Before the lock: loading a model takes seconds and must not hold the row.
        _blue_green_check(deployment, candidate)
    with transaction.atomic():
        locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
        _check_stage(deployment=locked, stable=stable, candidate=candidate, action=action)
        last = Revision.objects.filter(deployment=locked).aggregate(n=Max("number"))["n"] or 0
        previous = locked.current_revision_id
        revision = Revision.objects.create(
            deployment=locked, number=last + 1, strategy=strategy, stable=stable,
            candidate=candidate, canary_percent=canary_percent,
            sticky_header=sticky_header or "", action=action, reason=reason or "",
            rolled_back_to=rolled_back_to, promotion_request=promotion_request,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )  # fmt: skip
        locked.current_revision = revision
        fields = ["current_revision"]
        if strategy == Strategy.BLUE_GREEN and locked.last_error:
            locked.last_error, locked.last_error_at = "", None  # the check just passed
            fields += ["last_error", "last_error_at"]
        locked.save(update_fields=fields)
        audit_record(
            actor=actor, action="deployment.revision", obj=locked, project=locked.project,
            changes={
                "revision": revision.number, "action": action, "strategy": strategy,
                "stable": stable.version, "candidate": candidate.version if candidate else None,
                "canary_percent": canary_percent, "previous_revision_id": previous,
                "promotion_request": promotion_request.pk if promotion_request else None,
                "reason": reason or "",
            },
        )  # fmt: skip
    deployment.current_revision = revision
    deployment.current_revision_id = revision.pk
    return revision


def revision_previous(deployment: Deployment, to: int | None = None) -> Revision | None:
    """What a rollback returns to: the revision `to`, or the one before the current routing
    (walking back past revisions that were themselves rollbacks, so repeated clicks go back)."""
    revisions = Revision.objects.filter(deployment=deployment).select_related("rolled_back_to")
    if to is not None:
        return revisions.filter(number=to).first()
    current = deployment.current_revision
    if current is None:
        return None
    anchor = current.rolled_back_to or current
    return revisions.filter(Q(number__lt=anchor.number)).order_by("-number").first()
