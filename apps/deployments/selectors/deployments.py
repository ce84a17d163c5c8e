"""Deployments and their revisions, narrowed to the caller's projects, with everything a list
or a timeline shows joined in SQL (a fixed number of queries per page)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from apps.core.permissions import scope_to_member_projects
from apps.deployments.models import Deployment, Revision

_VERSION_DEFERRED = ("metrics", "card")


def _deferred(prefix: str) -> list[str]:
    return [f"{prefix}__{field}" for field in _VERSION_DEFERRED]


def deployment_list(*, user: AbstractBaseUser) -> QuerySet[Deployment]:
    return scope_to_member_projects(
        Deployment.objects.select_related(
            "project",
            "registered_model",
            "current_revision__stable",
            "current_revision__candidate",
            "current_revision__created_by",
        ).defer(*_deferred("current_revision__stable"), *_deferred("current_revision__candidate")),
        user,
    )


def revision_list(*, deployment: Deployment) -> QuerySet[Revision]:
    return (
        Revision.objects.filter(deployment=deployment)
        .select_related("stable", "candidate", "created_by", "rolled_back_to", "promotion_request")
        .defer(*_deferred("stable"), *_deferred("candidate"))
        .order_by("-number")
    )


def signature_columns(deployment: Deployment) -> list[dict]:
    """Input columns of the version now serving (the stable side), for examples and docs."""
    revision = deployment.current_revision
    if revision is None:
        return []
    signature = revision.stable.signature or {}
    return [c for c in signature.get("inputs", []) if isinstance(c, dict) and c.get("name")]
