"""The /alerts/ page (tabs, rows, the Acknowledge form and who sees it) and the Monitoring badge
in the navigation (open alerts of the user's projects, one query)."""

# Fixtures are imported from other test modules and requested by name.
# ruff: noqa: F811

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.core.models import AuditEvent
from apps.monitoring.models import Alert, AlertStatus, RuleKind
from tests.monitoring.test_alerts_api import alerts_for
from tests.monitoring.test_alerts_evaluate import add_rule, evaluate, make_report, watched  # noqa: F401

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def badge(html: str) -> str | None:
    found = re.search(r'data-badge="monitoring"[^>]*>(\d+)<', html)
    return found.group(1) if found else None


@pytest.fixture
def two_open(world, watched) -> list[Alert]:
    add_rule(watched, RuleKind.DATASET_DRIFT)
    add_rule(watched, RuleKind.FEATURE_DRIFTED, feature="x1")
    return sorted(evaluate(make_report(watched)), key=lambda a: a.pk)


def test_the_page_lists_open_alerts_with_tabs(world, watched, two_open):
    [old] = alerts_for(world, watched, 1, "resolved")
    html = client_for(world.users["vera"]).get("/alerts/").content.decode()
    for alert in two_open:
        assert f'data-alert="{alert.pk}"' in html
    assert f'data-alert="{old.pk}"' not in html
    assert 'href="/monitoring/churn-production/"' in html
    assert "feature &#x27;x1&#x27; drifted" in html and "Dataset drift detected" in html
    assert '<strong data-tab="open" aria-current="true">Open (2)</strong>' in html
    assert ">Resolved (1)</a>" in html and ">All (3)</a>" in html
    assert 'class="active" aria-current="page">Monitoring' in html  # its section is highlighted

    resolved = client_for(world.users["vera"]).get("/alerts/?status=resolved").content.decode()
    assert f'data-alert="{old.pk}"' in resolved and f'data-alert="{two_open[0].pk}"' not in resolved
    everything = client_for(world.users["vera"]).get("/alerts/?status=all").content.decode()
    assert everything.count("data-alert=") == 3
    odd = client_for(world.users["vera"]).get("/alerts/?status=%00&project=%00")
    assert odd.status_code == 200


def test_strangers_see_none_of_it(world, two_open):
    html = client_for(world.users["eve"]).get("/alerts/").content.decode()
    assert "data-alert=" not in html and "No open alerts" in html and badge(html) is None
    eve = client_for(world.users["eve"])
    assert eve.post(f"/alerts/{two_open[0].pk}/acknowledge/").status_code == 404


def test_only_contributors_get_the_button_and_may_post_it(world, two_open):
    first, second = two_open
    assert (
        "Acknowledge</button>"
        not in client_for(world.users["vera"]).get("/alerts/").content.decode()
    )
    assert (
        client_for(world.users["vera"]).post(f"/alerts/{first.pk}/acknowledge/").status_code == 403
    )

    carl = client_for(world.users["carl"])
    assert carl.get("/alerts/").content.decode().count("Acknowledge</button>") == 2
    response = carl.post(f"/alerts/{first.pk}/acknowledge/", {"next": "/alerts/?status=open"})
    assert response.status_code == 302 and response.url == "/alerts/?status=open"
    first.refresh_from_db()
    assert first.status == "acknowledged" and first.acknowledged_by == world.users["carl"]
    assert AuditEvent.objects.filter(action="alert.acknowledge", object_id=str(first.pk)).exists()

    page = carl.get("/alerts/?status=acknowledged").content.decode()
    assert f'data-alert="{first.pk}"' in page and "by carl" in page
    assert "Acknowledge</button>" not in page

    twice = carl.post(f"/alerts/{first.pk}/acknowledge/", follow=True)
    assert "only an open alert can be acknowledged" in twice.content.decode()
    offsite = carl.post(f"/alerts/{second.pk}/acknowledge/", {"next": "https://evil.example/"})
    assert offsite.url == "/alerts/"
    assert AuditEvent.objects.filter(action="alert.acknowledge").count() == 2


def test_the_badge_counts_open_alerts_of_my_projects(world, watched, two_open):
    assert badge(client_for(world.users["vera"]).get("/inbox/").content.decode()) == "2"
    Alert.objects.filter(pk=two_open[0].pk).update(status=AlertStatus.ACKNOWLEDGED)
    assert badge(client_for(world.users["carl"]).get("/inbox/").content.decode()) == "1"
    Alert.objects.update(status=AlertStatus.RESOLVED)
    assert badge(client_for(world.users["carl"]).get("/inbox/").content.decode()) is None
    assert badge(client_for(world.users["root"]).get("/inbox/").content.decode()) is None


def test_the_badge_costs_one_query(world, two_open):
    client = client_for(world.users["carl"])
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/inbox/").content.decode()
    assert badge(html) == "2"
    on_alerts = [q["sql"] for q in queries.captured_queries if "monitoring_alert" in q["sql"]]
    assert len(on_alerts) == 1 and "COUNT(" in on_alerts[0].upper()


def test_the_page_costs_the_same_for_many_alerts(world, watched, two_open):
    client = client_for(world.users["carl"])
    with CaptureQueriesContext(connection) as few:
        client.get("/alerts/?status=all")
    alerts_for(world, watched, 20, "resolved")
    with CaptureQueriesContext(connection) as many:
        html = client.get("/alerts/?status=all").content.decode()
    assert html.count("data-alert=") == 22
    assert len(many.captured_queries) == len(few.captured_queries)
