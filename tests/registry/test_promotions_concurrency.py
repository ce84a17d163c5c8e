"""The last approvals arriving at the same moment: exactly one promotion (PostgreSQL row lock).

Each thread has its own database connection, so the row lock is really contended.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.exceptions import APIException

from apps.core.models import AuditEvent, Role
from apps.core.services.projects import membership_add
from apps.registry.models import PromotionRequest, StageChange
from apps.registry.services import promotion_stages
from apps.registry.services import promotions as services

pytestmark = pytest.mark.django_db(transaction=True)


def race(users, request_id: int) -> list[object]:
    """Every user approves at once; returns each outcome (the request's status or the error)."""
    barrier = threading.Barrier(len(users))
    outcomes: list[object] = [None] * len(users)

    def approve(index: int, user) -> None:
        try:
            row = PromotionRequest.objects.get(pk=request_id)
            barrier.wait(timeout=10)
            outcomes[index] = services.promotion_approve(actor=user, request=row).status
        except APIException as exc:
            outcomes[index] = exc.status_code
        except Exception as exc:  # anything else would be a 500
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(i, u)) for i, u in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.fixture
def sent(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(promotion_stages, "_send_sync", calls.append)
    return calls


def _production_request(world, model_version_factory) -> PromotionRequest:
    model_version_factory(stage="production", metrics={"accuracy": 0.9})
    candidate = model_version_factory(stage="staging", metrics={"accuracy": 0.92})
    return services.promotion_request_create(
        actor=world.users["carl"], model_version=candidate, target="production",
        justification="Better",
    )  # fmt: skip


def _promoted_once(request: PromotionRequest, sent: list[int]) -> None:
    request.refresh_from_db()
    assert request.status == "approved"
    assert StageChange.objects.filter(to_stage="production", request=request).count() == 1
    assert StageChange.objects.filter(to_stage="archived", request=request).count() == 1
    assert AuditEvent.objects.filter(action="promotion.promoted").count() == 1
    assert AuditEvent.objects.filter(action="promotion.approve").count() == 1
    assert sent == [request.pk]


def test_two_reviewers_at_once_promote_exactly_once(world, model_version_factory, sent):
    request = _production_request(world, model_version_factory)
    assert request.approvals_required == 2
    outcomes = race([world.users["rita"], world.users["alice"]], request.pk)
    # One approval lands first and leaves the request pending; the other is the final one.
    assert sorted(map(str, outcomes)) == ["approved", "pending"], outcomes
    _promoted_once(request, sent)


def test_three_reviewers_for_two_slots(world, model_version_factory, sent):
    rex = type(world.users["rita"]).objects.create_user("rex", "rex@example.com", "pw")
    membership_add(
        actor=world.users["alice"], project=world.alpha, username="rex", role=Role.REVIEWER
    )
    request = _production_request(world, model_version_factory)
    outcomes = race([world.users["rita"], world.users["alice"], rex], request.pk)
    # Two approvals count; the third finds the request closed (409), none fails otherwise.
    assert sorted(map(str, outcomes)) == ["409", "approved", "pending"], outcomes
    assert request.reviews.count() == 2
    _promoted_once(request, sent)
