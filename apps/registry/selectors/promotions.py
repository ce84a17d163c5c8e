"""Reads of promotion requests: lists with a fixed number of queries, and a request's page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Prefetch, Q, QuerySet

from apps.core.permissions import scope_to_member_projects
from apps.registry.models import Decision, PromotionRequest, RequestStatus, Review
from apps.registry.selectors.policies import reviewable_requests

PROJECT_PATH = "model_version__registered_model__project"


def _with_related(requests: QuerySet[PromotionRequest]) -> QuerySet[PromotionRequest]:
    return requests.select_related(
        "model_version__registered_model__project",
        "requested_by",
        "override_by",
        "champion",
    ).annotate(approvals=Count("reviews", filter=Q(reviews__decision=Decision.APPROVE)))


def promotion_list(*, user: AbstractBaseUser) -> QuerySet[PromotionRequest]:
    """Requests in the user's projects, each with `approvals` counted and its reviews
    prefetched (one query for all of them)."""
    requests = scope_to_member_projects(PromotionRequest.objects.all(), user, PROJECT_PATH)
    reviews = Review.objects.select_related("reviewer").order_by("created_at", "id")
    return (
        _with_related(requests)
        .prefetch_related(Prefetch("reviews", queryset=reviews))
        .order_by("-created_at", "-id")
    )


def promotion_reviewable(*, user: AbstractBaseUser) -> QuerySet[PromotionRequest]:
    return _with_related(reviewable_requests(user=user)).order_by("expires_at", "id")


def review_queue(*, user: AbstractBaseUser, limit: int = 50) -> dict[str, Any]:
    """The reviews page: what the user can decide now, their own requests, recent decisions.
    Three queries whatever the number of rows (each list is capped)."""
    mine = _with_related(PromotionRequest.objects.filter(requested_by=user)).order_by(
        "-created_at", "-id"
    )
    decided = (
        _with_related(scope_to_member_projects(PromotionRequest.objects.all(), user, PROJECT_PATH))
        .exclude(status=RequestStatus.PENDING)
        .order_by("-decided_at", "-id")
    )
    return {
        "to_review": list(promotion_reviewable(user=user)[:limit]),
        "mine": list(mine[:limit]),
        "decided": list(decided[:limit]),
    }
