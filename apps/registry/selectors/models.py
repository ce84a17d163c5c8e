"""Reads of registered models and versions, narrowed to the caller's projects, with what the
lists show computed in SQL (counts, latest and champion versions, code version) so that a page
costs the same number of queries for 3 versions or 1,000."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Max, OuterRef, Prefetch, QuerySet, Subquery, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, NullIf

from apps.core.models import AuditEvent
from apps.core.permissions import scope_to_member_projects
from apps.registry.models import (
    Decision,
    ModelVersion,
    PromotionRequest,
    RegisteredModel,
    RequestStatus,
    Review,
    Stage,
    StageChange,
)

# Large JSON the version lists never show.
VERSION_LIST_DEFERRED = (
    "dataset_version__schema",
    "dataset_version__profile",
    "dataset_version__validation",
    "training_job__history",
    "training_job__log_tail",
    "training_job__resources",
    "training_job__job__params",
    "training_job__job__result",
)
CHAMPION_STAGES = (Stage.STAGING, Stage.PRODUCTION)
CARD_ACTIONS = ("model.card_update", "model_version.card_update")


def _champion(stage: str) -> Subquery:
    return Subquery(
        ModelVersion.objects.filter(registered_model=OuterRef("pk"), stage=stage).values("version")[
            :1
        ]
    )


def registered_model_list(*, user: AbstractBaseUser) -> QuerySet[RegisteredModel]:
    return scope_to_member_projects(
        RegisteredModel.objects.select_related("project").annotate(
            version_count=Count("versions"),
            latest_version=Max("versions__version"),
            staging=_champion(Stage.STAGING),
            production=_champion(Stage.PRODUCTION),
        ),
        user,
    ).order_by("name")


def model_version_list(*, user: AbstractBaseUser) -> QuerySet[ModelVersion]:
    """Versions with their lineage joined in. The code version is a tag of the MLflow run,
    read from the portal's mirror of that run (the portal's own tag first, then MLflow's git
    tag, which only exists inside a checkout)."""
    return scope_to_member_projects(
        ModelVersion.objects.select_related(
            "registered_model__project",
            "training_job__job",
            "dataset_version__dataset",
            "stage_changed_by",
        )
        .defer(*VERSION_LIST_DEFERRED)
        .annotate(
            code_version=Coalesce(
                NullIf(
                    KeyTextTransform("portal.code_version", "training_job__run__tags"),
                    Value("unknown", output_field=TextField()),
                ),
                KeyTextTransform("mlflow.source.git.commit", "training_job__run__tags"),
            )
        ),
        user,
        "registered_model__project",
    )


def version_list_for(*, user: AbstractBaseUser, model: RegisteredModel) -> QuerySet[ModelVersion]:
    return model_version_list(user=user).filter(registered_model=model).order_by("-version")


def open_requests(*, version: ModelVersion) -> QuerySet[PromotionRequest]:
    return PromotionRequest.objects.filter(
        model_version=version, status=RequestStatus.PENDING
    ).select_related("requested_by")


def card_history(*, obj: RegisteredModel | ModelVersion, limit: int = 20) -> list[AuditEvent]:
    """Who changed which card section when: the audit trail is the card's version history."""
    return list(
        AuditEvent.objects.filter(
            object_type=obj._meta.label_lower, object_id=str(obj.pk), action__in=CARD_ACTIONS
        )[:limit]
    )


def _history_rows(model: RegisteredModel, at: datetime | None = None) -> QuerySet[StageChange]:
    rows = StageChange.objects.filter(model_version__registered_model=model).select_related(
        "model_version", "changed_by", "request__requested_by", "request__override_by"
    )
    if at is not None:
        rows = rows.filter(at__lte=at)
    reviews = Review.objects.select_related("reviewer").order_by("created_at", "id")
    return rows.prefetch_related(Prefetch("request__reviews", queryset=reviews))


def _entry(change: StageChange) -> dict[str, Any]:
    request = change.request
    reviews = list(request.reviews.all()) if request is not None else []
    gates = (request.gates or []) if request is not None else []
    return {
        "id": change.pk,
        "version": change.model_version.version,
        "version_id": change.model_version_id,
        "from_stage": change.from_stage,
        "to_stage": change.to_stage,
        "at": change.at,
        "changed_by": change.changed_by.username if change.changed_by else None,
        "reason": change.reason,
        "request": request.pk if request is not None else None,
        "requested_by": (
            request.requested_by.username if request is not None and request.requested_by else None
        ),
        "justification": request.justification if request is not None else "",
        "approvers": [r.reviewer.username for r in reviews if r.decision == Decision.APPROVE],
        "comments": [
            {"reviewer": r.reviewer.username, "decision": r.decision, "comment": r.comment}
            for r in reviews
            if r.comment
        ],
        "gates_passed": request.gates_passed if request is not None else None,
        "gates": [
            {"name": g.get("name", ""), "passed": g.get("passed")}
            for g in gates
            if isinstance(g, dict)
        ],
        "override_reason": request.override_reason if request is not None else "",
        "override_by": (
            request.override_by.username if request is not None and request.override_by else None
        ),
    }


def model_history(*, model: RegisteredModel) -> list[dict[str, Any]]:
    """Every stage change of the model's versions, newest first, with who asked, who approved,
    the gates and the reviewers' comments."""
    return [_entry(change) for change in _history_rows(model)]


def stages_at(*, model: RegisteredModel, at: datetime) -> dict[str, dict[str, Any] | None]:
    """What was in staging and production at `at`, and the change that put it there.

    Replayed from the stage changes up to `at`, oldest first: a version holds a stage from the
    change that moved it in until a change moves it out (or another version moves in)."""
    holders: dict[str, StageChange | None] = dict.fromkeys(CHAMPION_STAGES)
    for change in reversed(list(_history_rows(model, at))):
        for stage, holder in holders.items():
            leaves = change.from_stage == stage and change.to_stage != stage
            if holder is not None and holder.model_version_id == change.model_version_id and leaves:
                holders[stage] = None
        if change.to_stage in CHAMPION_STAGES:
            holders[change.to_stage] = change
    return {stage: _entry(c) if c is not None else None for stage, c in holders.items()}


def primary_value(metrics: dict[str, Any], name: str) -> float | None:
    """The primary metric's value, whichever split the trainer named it after."""
    for key in (name, f"val_{name}", f"test_{name}"):
        value = (metrics or {}).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None
