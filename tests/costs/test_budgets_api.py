"""Budgets over the API (admins write, members read, strangers see nothing) and the cost page
with its budget form."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.costs.models import Budget
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/api/v1/budgets/"


def test_roles_for_budgets(world, api, spend):
    for name in ("vera", "carl", "rita"):
        answer = api(world.users[name]).post(URL, {"project": "alpha", "amount": "50"})
        assert answer.status_code == 403, name
    assert not Budget.objects.exists()
    answer = api(world.users["eve"]).post(URL, {"project": "alpha", "amount": "50"})
    assert answer.status_code == 400 and "project" in answer.json()

    alice = api(world.users["alice"])
    answer = alice.post(URL, {"project": "alpha", "amount": "50"})
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["amount"] == 50.0 and body["currency"] == "USD"
    assert body["thresholds"] == [80, 100] and body["project"] == "alpha"
    assert AuditEvent.objects.filter(action="budget.create", project=world.alpha).count() == 1
    again = alice.post(URL, {"project": "alpha", "amount": "60"})
    assert again.status_code == 400 and "project" in again.json()

    spend("12.5")
    listed = api(world.users["vera"]).get(URL).json()
    assert listed["count"] == 1 and listed["results"][0]["spent"] == 12.5
    pk = body["id"]
    assert api(world.users["eve"]).get(f"{URL}{pk}/").status_code == 404
    assert api(world.users["eve"]).get(URL).json()["count"] == 0
    assert api(world.users["carl"]).patch(f"{URL}{pk}/", {"amount": "1"}).status_code == 403
    assert api(world.users["eve"]).patch(f"{URL}{pk}/", {"amount": "1"}).status_code == 404

    changed = alice.patch(f"{URL}{pk}/", {"amount": "75.5", "currency": "EUR"})
    assert changed.status_code == 200
    assert (changed.json()["amount"], changed.json()["currency"]) == (75.5, "EUR")
    assert changed.json()["updated_by"] == "alice"

    assert api(world.users["rita"]).delete(f"{URL}{pk}/").status_code == 403
    assert alice.delete(f"{URL}{pk}/").status_code == 204
    assert not Budget.objects.exists()
    assert AuditEvent.objects.filter(action="budget.delete").count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"project": "alpha", "amount": "0"}, "amount"),
        ({"project": "alpha", "amount": "-3"}, "amount"),
        ({"project": "alpha", "amount": "abc"}, "amount"),
        ({"project": "alpha", "amount": "1e20"}, "amount"),
        ({"project": "alpha"}, "amount"),
        ({"amount": "5"}, "project"),
        ({"project": "alpha", "amount": "5", "currency": "dollars"}, "currency"),
    ],
)
def test_bad_budget_input_names_the_field(world, api, body, field):
    answer = api(world.users["alice"]).post(URL, body)
    assert answer.status_code == 400
    assert field in answer.json()
    assert not Budget.objects.exists()


def test_budget_list_query_count_is_fixed(world, api, django_assert_max_num_queries):
    from apps.core.models import Project
    from apps.core.services.projects import project_create

    root = api(world.users["root"])
    Budget.objects.create(project=world.alpha, amount=10, currency="USD")
    with django_assert_max_num_queries(10) as few:
        assert root.get(URL).json()["count"] == 1
    for i in range(12):
        project = project_create(creator=world.users["alice"], slug=f"p{i}", name=f"P{i}")
        Budget.objects.create(project=project, amount=10 + i, currency="USD")
    assert Project.objects.count() == 14
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert root.get(URL).json()["count"] == 13


def test_cost_page_renders_and_admins_set_the_budget(world, client, spend):
    spend("3")
    client.login(username="alice", password=PASSWORD)
    page = client.get("/costs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="cost-data"' in html and "plotly.min.js" in html and "js/costs.js" in html
    assert 'class="inline budget-form" data-project="alpha"' in html

    answer = client.post("/costs/budget/", {"project": "alpha", "amount": "40", "currency": ""})
    assert answer.status_code == 302
    assert Budget.objects.get(project=world.alpha).amount == 40
    client.post("/costs/budget/", {"project": "alpha", "amount": "45", "currency": "EUR"})
    budget = Budget.objects.get(project=world.alpha)
    assert (budget.amount, budget.currency) == (45, "EUR")

    bad = client.post("/costs/budget/", {"project": "alpha", "amount": "-1"}, follow=True)
    assert "amount" in bad.content.decode()
    assert Budget.objects.get(project=world.alpha).amount == 45

    odd = client.get("/costs/", {"month": "2025-99", "project": "beta"})
    assert odd.status_code == 200 and "YYYY-MM" in odd.content.decode()


def test_viewers_see_the_page_without_the_form(world, client):
    client.login(username="vera", password=PASSWORD)
    html = client.get("/costs/").content.decode()
    assert "budget-form" not in html
    answer = client.post("/costs/budget/", {"project": "alpha", "amount": "40"}, follow=True)
    assert "admin role" in answer.content.decode()
    assert not Budget.objects.exists()
    client.login(username="eve", password=PASSWORD)
    client.post("/costs/budget/", {"project": "alpha", "amount": "40"})
    assert not Budget.objects.exists()
