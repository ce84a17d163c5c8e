"""Retrain policies and their runs, narrowed to the caller's projects, with what lists show
joined or annotated in SQL (a fixed number of queries per page)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery

from apps.core.permissions import scope_to_member_projects
from apps.monitoring.models import RetrainPolicy, RetrainRun
from apps.registry.models import RegisteredModel

# Large JSON the run lists never show.
_RUN_DEFERRED = (
    "base_version__metrics",
    "base_version__card",
    "base_version__signature",
    "model_version__metrics",
    "model_version__card",
    "model_version__signature",
    "dataset_version__schema",
    "dataset_version__profile",
    "dataset_version__validation",
    "training_job__history",
    "training_job__log_tail",
    "training_job__resources",
    "training_job__metrics",
    "training_job__params",
    "training_job__job__params",
    "training_job__job__result",
    "promotion_request__gates",
    "promotion_request__justification",
)


def _last_run(field: str) -> Subquery:
    runs = RetrainRun.objects.filter(policy=OuterRef("pk")).order_by("-created_at", "-id")
    return Subquery(runs.values(field)[:1])


def retrain_policy_list(*, user: AbstractBaseUser) -> QuerySet[RetrainPolicy]:
    return scope_to_member_projects(
        RetrainPolicy.objects.select_related("project", "registered_model", "created_by")
        .annotate(
            last_run_id=_last_run("id"),
            last_run_status=_last_run("status"),
            last_run_at=_last_run("created_at"),
        )
        .order_by("registered_model__name"),
        user,
    )


def retrain_run_list(*, policy: RetrainPolicy) -> QuerySet[RetrainRun]:
    return (
        RetrainRun.objects.filter(policy=policy)
        .select_related(
            "trigger_dataset_version__dataset",
            "base_version",
            "dataset_version__dataset",
            "training_job__job",
            "model_version",
            "promotion_request",
            "created_by",
        )
        .defer(*_RUN_DEFERRED)
        .order_by("-created_at", "-id")
    )


def retrain_policy_for_model(*, model: RegisteredModel) -> RetrainPolicy | None:
    """The model's policy (the caller already checked it may see the model)."""
    return (
        RetrainPolicy.objects.select_related("project", "registered_model", "created_by")
        .filter(registered_model=model)
        .first()
    )
