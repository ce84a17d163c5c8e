"""Promotion policies: defaults until an admin edits them, edits audited, bad values refused
field by field, reviewers 403, strangers 404 (API and page)."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.core.models import AuditEvent
from apps.registry.models import PromotionPolicy
from apps.registry.selectors.policies import policy_for

pytestmark = pytest.mark.django_db

GOOD = {
    "approvals_required": 3,
    "primary_metric": "f1",
    "direction": "max",
    "floor": 0.7,
    "tolerance": 0.02,
    "require_validation": False,
    "expiry_days": 14,
    "deploy_strategy": "canary",
    "canary_percent": 20,
}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_policies_show_defaults(world, api, model_version_factory):
    model = model_version_factory().registered_model
    body = api(world.users["vera"]).get(f"/api/v1/models/{model.pk}/policies/").json()
    assert [p["stage"] for p in body] == ["staging", "production"]
    staging, production = body
    assert staging["approvals_required"] == 1 and production["approvals_required"] == 2
    assert production["primary_metric"] == "accuracy" and production["direction"] == "max"
    assert production["floor"] is None and production["tolerance"] == 0.01
    assert production["require_validation"] is True and production["expiry_days"] == 7
    assert production["stored"] is False


def test_admin_edits_policy_and_it_is_audited(world, api, model_version_factory):
    model = model_version_factory().registered_model
    url = f"/api/v1/models/{model.pk}/policies/production/"
    response = api(world.users["alice"]).put(url, GOOD)
    assert response.status_code == 200, response.content
    assert response.json() == {**GOOD, "stage": "production", "stored": True}
    policy = policy_for(model, "production")
    assert (policy.approvals_required, policy.floor, policy.expiry_days) == (3, 0.7, 14)
    event = AuditEvent.objects.get(action="promotion_policy.update")
    assert event.actor_username == "alice" and event.project == world.alpha
    assert event.changes["approvals_required"] == {"before": 2, "after": 3}
    # PUT replaces the policy: fields left out go back to their defaults.
    again = api(world.users["alice"]).put(url, {"approvals_required": 2}).json()
    assert (
        again["floor"] is None
        and again["expiry_days"] == 7
        and again["primary_metric"] == "accuracy"
    )
    assert PromotionPolicy.objects.filter(registered_model=model).count() == 1


def test_policy_edit_needs_admin(world, api, model_version_factory):
    model = model_version_factory().registered_model
    url = f"/api/v1/models/{model.pk}/policies/staging/"
    for name in ("rita", "carl", "vera"):
        assert api(world.users[name]).put(url, GOOD).status_code == 403, name
    assert api(world.users["eve"]).put(url, GOOD).status_code == 404
    assert api(world.users["eve"]).get(f"/api/v1/models/{model.pk}/policies/").status_code == 404
    assert api(world.users["root"]).put(url, GOOD).status_code == 200
    assert AuditEvent.objects.filter(action="promotion_policy.update").count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("approvals_required", 0),
        ("approvals_required", 11),
        ("approvals_required", "two"),
        ("direction", "up"),
        ("tolerance", -0.1),
        ("expiry_days", 0),
        ("expiry_days", 91),
        ("deploy_strategy", "blue_green"),
        ("canary_percent", 100),
        ("floor", "high"),
        ("primary_metric", "m" * 101),
        ("require_validation", "maybe"),
    ],
)
def test_bad_policy_values_are_400_per_field(world, api, model_version_factory, field, value):
    model = model_version_factory().registered_model
    url = f"/api/v1/models/{model.pk}/policies/production/"
    response = api(world.users["alice"]).put(url, {**GOOD, field: value})
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not PromotionPolicy.objects.exists()


def test_unknown_stage_is_refused(world, api, model_version_factory):
    model = model_version_factory().registered_model
    for stage in ("archived", "none", "prod"):
        url = f"/api/v1/models/{model.pk}/policies/{stage}/"
        assert api(world.users["alice"]).put(url, GOOD).status_code == 404
    assert not PromotionPolicy.objects.exists()


def test_policy_page_form(world, model_version_factory):
    model = model_version_factory().registered_model
    alice = _client(world.users["alice"])
    page = alice.get(f"/models/{model.pk}/").content.decode()
    assert "Save policy for production" in page and "(defaults)" in page
    form = {f"production-{k}": v for k, v in GOOD.items() if k != "require_validation"}
    form["production-floor"] = ""
    response = alice.post(f"/models/{model.pk}/policies/production/", form)
    assert response.status_code == 302
    policy = policy_for(model, "production")
    assert policy.approvals_required == 3 and policy.floor is None
    assert policy.require_validation is False  # an unticked box
    bad = alice.post(
        f"/models/{model.pk}/policies/staging/",
        {"staging-approvals_required": 0, "staging-tolerance": 0.1, "staging-expiry_days": 7},
    )
    assert bad.status_code == 400 and "field-error" in bad.content.decode()
    rita = _client(world.users["rita"])
    assert "Save policy for" not in rita.get(f"/models/{model.pk}/").content.decode()
    assert rita.post(f"/models/{model.pk}/policies/production/", form).status_code == 403
    eve = _client(world.users["eve"])
    assert eve.post(f"/models/{model.pk}/policies/production/", form).status_code == 404
