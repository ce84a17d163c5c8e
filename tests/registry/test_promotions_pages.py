"""Promotion pages: the review queue, the request form, a request's page and its buttons."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.registry.models import PromotionRequest
from apps.registry.services.promotions import promotion_request_create

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def request_for(world, version, target="staging", user="carl") -> PromotionRequest:
    return promotion_request_create(
        actor=world.users[user], model_version=version, target=target, justification="Better."
    )


def flashes(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


def test_review_queue_lists_what_each_user_can_decide(world, model_version_factory):
    row = request_for(world, model_version_factory())
    page = client_for(world.users["rita"]).get("/reviews/")
    assert page.status_code == 200
    queue = page.content.decode()
    assert f'href="/promotions/{row.pk}/"' in queue and "Waiting for your review" in queue
    assert page.context["to_review"] == [row]
    assert client_for(world.users["carl"]).get("/reviews/").context["mine"] == [row]
    assert client_for(world.users["carl"]).get("/reviews/").context["to_review"] == []
    assert client_for(world.users["eve"]).get("/reviews/").context["decided"] == []
    assert Client().get("/reviews/").status_code == 302  # login first


def _queue_queries(world) -> int:
    client = client_for(world.users["rita"])
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/reviews/").status_code == 200
    return len(ctx.captured_queries)


def test_review_queue_query_count_is_constant(world, model_version_factory):
    for _ in range(3):
        request_for(world, model_version_factory(training_job=False), user="alice")
    few = _queue_queries(world)
    for _ in range(27):
        request_for(world, model_version_factory(training_job=False), user="alice")
    PromotionRequest.objects.filter(pk__in=PromotionRequest.objects.all()[:5]).update(
        status="rejected"
    )
    assert _queue_queries(world) == few


def test_request_form(world, model_version_factory):
    version = model_version_factory()
    url = f"/promotions/new/?version={version.pk}"
    carl = client_for(world.users["carl"])
    page = carl.get(url)
    assert page.status_code == 200 and "training_job_succeeded" in page.content.decode()
    assert client_for(world.users["vera"]).get(url).status_code == 403
    assert client_for(world.users["eve"]).get(url).status_code == 404
    assert carl.get("/promotions/new/?version=abc").status_code == 404
    bad = carl.post(url, {"target": "canary", "justification": "x"})
    assert bad.status_code == 400 and PromotionRequest.objects.count() == 0
    done = carl.post(url, {"target": "staging", "justification": "Better recall."})
    row = PromotionRequest.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/promotions/{row.pk}/"
    again = carl.post(url, {"target": "staging", "justification": "Twice."})
    assert again.status_code == 409 and "pending request" in flashes(again)


def test_request_page_shows_comparison_gates_diff_and_lineage(world, model_version_factory):
    model_version_factory(stage="staging", metrics={"accuracy": 0.9, "f1": 0.8})
    candidate = model_version_factory(metrics={"accuracy": 0.7, "f1": 0.85})
    row = request_for(world, candidate)
    page = client_for(world.users["vera"]).get(f"/promotions/{row.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-gate="champion_tolerance" class="gate-fail"' in html
    chart = json.loads(re.search(r'id="promotion-metrics"[^>]*>(.*?)</script>', html).group(1))
    assert chart["metrics"] == ["accuracy", "f1"]
    assert [s["label"] for s in chart["series"]] == ["candidate v2", "champion v1"]
    assert (
        f'href="{reverse("dataset-version-detail", args=[candidate.dataset_version_id])}"' in html
    )
    assert f'href="{reverse("training-job", args=[candidate.training_job_id])}"' in html
    assert "Same columns, types and nullability." in html  # the two training sets' diff
    assert "Approve" not in html  # a viewer cannot decide
    rita_page = client_for(world.users["rita"]).get(f"/promotions/{row.pk}/").content.decode()
    assert "Approve" in rita_page and "Override" not in rita_page
    assert (
        "Override gates"
        in client_for(world.users["alice"]).get(f"/promotions/{row.pk}/").content.decode()
    )
    assert client_for(world.users["eve"]).get(f"/promotions/{row.pk}/").status_code == 404


def test_buttons_and_refusals_are_messages(world, model_version_factory):
    row = request_for(world, model_version_factory())
    url = f"/promotions/{row.pk}/"
    carl, rita = client_for(world.users["carl"]), client_for(world.users["rita"])
    own = carl.post(f"{url}approve/", {"comment": "mine"}, follow=True)
    assert own.status_code == 200 and "reviewer role" in flashes(own)
    by_alice = request_for(world, model_version_factory(), user="alice")
    self_review = client_for(world.users["alice"]).post(
        f"/promotions/{by_alice.pk}/approve/", follow=True
    )
    assert "someone else must approve" in flashes(self_review)
    viewer = client_for(world.users["vera"]).post(f"{url}approve/", follow=True)
    assert "reviewer role" in flashes(viewer)
    assert client_for(world.users["eve"]).post(f"{url}approve/").status_code == 404
    assert rita.get(f"{url}approve/").status_code == 405
    done = rita.post(f"{url}approve/", {"comment": "Ship it"}, follow=True)
    assert "approved" in flashes(done) and "Ship it" in done.content.decode()
    late = client_for(world.users["alice"]).post(f"{url}reject/", follow=True)
    assert "approved" in flashes(late) and "no longer change" in flashes(late)
    row.refresh_from_db()
    assert row.status == "approved"


def test_cancel_and_override_from_the_page(world, model_version_factory):
    failing = request_for(world, model_version_factory(validation_passed=False))
    alice = client_for(world.users["alice"])
    empty = alice.post(f"/promotions/{failing.pk}/override/", {"reason": " "}, follow=True)
    assert "reason" in flashes(empty)
    alice.post(f"/promotions/{failing.pk}/override/", {"reason": "Known false alarm"})
    page = alice.get(f"/promotions/{failing.pk}/").content.decode()
    assert "Overridden" in page and "Known false alarm" in page
    carl = client_for(world.users["carl"])
    assert carl.post(f"/promotions/{failing.pk}/cancel/").status_code == 302
    failing.refresh_from_db()
    assert failing.status == "cancelled"
