"""/api/v1/alert-rules/ (CRUD, validation per kind, roles, strangers) and /api/v1/alerts/
(filters, order, fixed query count, acknowledge with its 409s and audit)."""

# Fixtures are imported from other test modules and requested by name.
# ruff: noqa: F811

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.monitoring.models import Alert, AlertRule, Monitor, RuleKind
from tests.monitoring.test_alerts_evaluate import add_rule, evaluate, make_report, watched  # noqa: F401

pytestmark = pytest.mark.django_db

RULES = "/api/v1/alert-rules/"
ALERTS = "/api/v1/alerts/"


def create(api, user, monitor, **body):
    return api(user).post(RULES, {"monitor": monitor.pk, **body}, format="json")


# --- rules ----------------------------------------------------------------------------------

VALID = [
    {"kind": "dataset_drift"},
    {"kind": "drift_share_above", "threshold": 0.3},
    {"kind": "feature_drifted", "feature": "colour"},
    {"kind": "metric_below", "metric": "accuracy", "threshold": 0.8},
    {"kind": "error_rate_above", "threshold": 0.05},
    {"kind": "latency_p95_above", "threshold": 250},
]


@pytest.mark.parametrize("body", VALID, ids=[b["kind"] for b in VALID])
def test_a_contributor_creates_each_kind(world, api, watched, body):
    response = create(api, world.users["carl"], watched, **body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["kind"] == body["kind"] and data["monitor"] == watched.pk
    assert data["project"] == "alpha" and data["deployment"] == "churn-production"
    assert data["threshold"] == body.get("threshold") and data["feature"] == body.get("feature", "")
    assert data["enabled"] is True and data["open_alert"] is None
    assert data["created_by"] == "carl"
    event = AuditEvent.objects.get(action="alert_rule.create")
    assert event.object_id == str(data["id"]) and event.project == world.alpha


INVALID = [
    ({"kind": "drift_share_above"}, "threshold", "needs a threshold"),
    ({"kind": "drift_share_above", "threshold": 1.5}, "threshold", "between 0 and 1"),
    ({"kind": "drift_share_above", "threshold": -0.1}, "threshold", "between 0 and 1"),
    ({"kind": "dataset_drift", "threshold": 0.5}, "threshold", "takes no threshold"),
    ({"kind": "dataset_drift", "feature": "x1"}, "feature", "takes no feature"),
    ({"kind": "feature_drifted"}, "feature", "needs a feature"),
    ({"kind": "feature_drifted", "feature": "amount"}, "feature", "x1, x2, colour"),
    ({"kind": "metric_below", "metric": "rmse", "threshold": 0.5}, "metric", "lower-is-better"),
    ({"kind": "metric_below", "metric": "r2", "threshold": 0.5}, "metric", "classification"),
    ({"kind": "metric_below", "metric": "accuracy"}, "threshold", "needs a threshold"),
    ({"kind": "metric_below", "threshold": 0.5}, "metric", "needs a metric"),
    ({"kind": "metric_below", "metric": "accuracy", "threshold": 2}, "threshold", "0 and 1"),
    ({"kind": "error_rate_above", "threshold": 5}, "threshold", "between 0 and 1"),
    ({"kind": "latency_p95_above", "threshold": 0}, "threshold", "more than 0"),
    ({"kind": "latency_p95_above", "threshold": 100, "metric": "f1"}, "metric", "takes no"),
    ({"kind": "sometimes"}, "kind", "not a valid choice"),
    ({"kind": "drift_share_above", "threshold": "high"}, "threshold", "valid number"),
]


@pytest.mark.parametrize(("body", "field", "says"), INVALID)
def test_rules_are_checked_per_kind(world, api, watched, body, field, says):
    response = create(api, world.users["carl"], watched, **body)
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field], errors
    assert says in errors[field][0]
    assert not AlertRule.objects.exists()


def test_feature_names_come_from_the_monitor_columns_when_it_names_some(world, api, watched):
    Monitor.objects.filter(pk=watched.pk).update(columns=["x1", "amount"])
    carl = world.users["carl"]
    assert create(api, carl, watched, kind="feature_drifted", feature="amount").status_code == 201
    refused = create(api, carl, watched, kind="feature_drifted", feature="colour")
    assert refused.status_code == 400 and "x1, amount" in refused.json()["feature"][0]


def test_the_same_rule_twice_is_refused(world, api, watched):
    carl = world.users["carl"]
    assert create(api, carl, watched, kind="drift_share_above", threshold=0.3).status_code == 201
    again = create(api, carl, watched, kind="drift_share_above", threshold=0.3)
    assert again.status_code == 400 and "same rule" in again.json()["kind"][0]
    assert create(api, carl, watched, kind="drift_share_above", threshold=0.4).status_code == 201


def test_roles_and_strangers(world, api, watched):
    denied = create(api, world.users["vera"], watched, kind="dataset_drift")
    assert denied.status_code == 403
    hidden = create(api, world.users["eve"], watched, kind="dataset_drift")
    assert hidden.status_code == 400 and "monitor" in hidden.json()
    missing = api(world.users["carl"]).post(
        RULES, {"monitor": 999999, "kind": "dataset_drift"}, format="json"
    )
    assert missing.status_code == 400
    assert not AlertRule.objects.exists()

    rule = add_rule(watched, RuleKind.DATASET_DRIFT)
    url = f"{RULES}{rule.pk}/"
    assert api(world.users["vera"]).get(url).status_code == 200
    assert api(world.users["eve"]).get(url).status_code == 404
    assert api(world.users["eve"]).get(RULES).json()["count"] == 0
    assert api(world.users["eve"]).delete(url).status_code == 404
    assert api(world.users["vera"]).patch(url, {"enabled": False}).status_code == 403
    assert api(world.users["vera"]).delete(url).status_code == 403
    assert AlertRule.objects.filter(pk=rule.pk, enabled=True).exists()


def test_change_and_delete_a_rule(world, api, watched):
    carl = api(world.users["carl"])
    rule = add_rule(watched, RuleKind.DRIFT_SHARE_ABOVE, threshold=0.3)
    url = f"{RULES}{rule.pk}/"
    changed = carl.patch(url, {"threshold": 0.6}, format="json")
    assert changed.status_code == 200 and changed.json()["threshold"] == 0.6
    event = AuditEvent.objects.get(action="alert_rule.update")
    assert event.changes["from"]["threshold"] == 0.3 and event.changes["to"]["threshold"] == 0.6

    assert carl.patch(url, {"threshold": 3}, format="json").json() == {
        "threshold": ["A share between 0 and 1 (0.3 means 30 %)."]
    }
    kind = carl.patch(url, {"kind": "dataset_drift"}, format="json")
    assert kind.status_code == 400 and "cannot change" in kind.json()["kind"][0]
    assert carl.patch(url, {"feature": "x1"}, format="json").status_code == 400
    rule.refresh_from_db()
    assert (rule.kind, rule.threshold, rule.feature) == ("drift_share_above", 0.6, "")

    assert carl.delete(url).status_code == 204
    assert not AlertRule.objects.exists()
    assert AuditEvent.objects.filter(action="alert_rule.delete", object_id=str(rule.pk)).exists()


def test_rule_list_filters_and_shows_the_open_alert(
    world,
    api,
    watched,
    django_assert_max_num_queries,
):
    drift = add_rule(watched, RuleKind.DATASET_DRIFT)
    for threshold in (0.1, 0.2, 0.3, 0.4):
        add_rule(watched, RuleKind.DRIFT_SHARE_ABOVE, threshold=threshold)
    [alert] = [a for a in evaluate(make_report(watched)) if a.rule_id == drift.pk]
    client = api(world.users["vera"])
    with django_assert_max_num_queries(6):
        listed = client.get(RULES, {"monitor": watched.pk}).json()
    assert listed["count"] == 5
    by_id = {r["id"]: r for r in listed["results"]}
    assert by_id[drift.pk]["open_alert"] == alert.pk
    assert client.get(RULES, {"kind": "dataset_drift"}).json()["count"] == 1
    assert client.get(RULES, {"deployment": "churn-production"}).json()["count"] == 5
    assert client.get(RULES, {"monitor": watched.pk + 1}).json()["count"] == 0
    assert client.get(RULES, {"project": "beta"}).json()["count"] == 0


# --- alerts ---------------------------------------------------------------------------------


def alerts_for(world, monitor, n: int, status: str = "resolved", kind: str = "dataset_drift"):
    """n alert rows (one rule each), opened a minute apart, the last one newest."""
    report = make_report(monitor)
    now = timezone.now()
    made = []
    for i in range(n):
        rule = add_rule(
            monitor, kind, **({"threshold": 0.01 * (i + 1)} if kind != "dataset_drift" else {})
        )
        made.append(
            Alert.objects.create(
                project=world.alpha,
                monitor=monitor,
                rule=rule,
                kind=kind,
                status=status,
                message=f"alert {i}",
                value=0.5,
                opened_report=report,
                last_report=report,
                opened_at=now - timedelta(minutes=n - i),
            )
        )
    return made


def test_alert_list_filters_orders_and_hides_strangers(world, api, watched):
    resolved = alerts_for(world, watched, 2, "resolved")
    [opened] = alerts_for(world, watched, 1, "open", kind="drift_share_above")
    Alert.objects.filter(pk=opened.pk).update(opened_at=timezone.now())
    client = api(world.users["vera"])

    everything = client.get(ALERTS).json()
    assert [a["id"] for a in everything["results"]] == [opened.pk, resolved[1].pk, resolved[0].pk]
    first = everything["results"][0]
    assert first["status"] == "open" and first["deployment"] == "churn-production"
    assert first["monitor"] == watched.pk and first["monitor_name"] == "drift"
    assert first["kind"] == "drift_share_above" and first["threshold"] == 0.01

    def ids(**query):
        return [a["id"] for a in client.get(ALERTS, query).json()["results"]]

    assert ids(status="open") == [opened.pk]
    assert ids(status=["open", "resolved"]) == [opened.pk, resolved[1].pk, resolved[0].pk]
    assert ids(status="acknowledged") == []
    assert ids(kind="dataset_drift") == [resolved[1].pk, resolved[0].pk]
    assert ids(monitor=watched.pk) == ids(deployment="churn-production") == ids(project="alpha")
    assert ids(deployment="elsewhere") == [] and ids(rule=opened.rule_id) == [opened.pk]
    assert ids(ordering="opened_at")[0] == resolved[0].pk
    assert client.get(ALERTS, {"status": "sleeping"}).status_code == 400

    eve = api(world.users["eve"])
    assert eve.get(ALERTS).json()["count"] == 0
    assert eve.get(f"{ALERTS}{opened.pk}/").status_code == 404
    assert client.get(f"{ALERTS}{opened.pk}/").json()["message"] == "alert 0"


def test_alert_list_costs_the_same_for_many_alerts(
    world,
    api,
    watched,
    django_assert_max_num_queries,
):
    alerts_for(world, watched, 3)
    client = api(world.users["vera"])
    with django_assert_max_num_queries(5) as few:
        assert client.get(ALERTS).json()["count"] == 3
    alerts_for(world, watched, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(ALERTS).json()["count"] == 33


def test_acknowledge(world, api, watched):
    add_rule(watched, RuleKind.DATASET_DRIFT)
    [alert] = evaluate(make_report(watched))
    url = f"{ALERTS}{alert.pk}/acknowledge/"

    assert api(world.users["vera"]).post(url).status_code == 403
    assert api(world.users["eve"]).post(url).status_code == 404
    response = api(world.users["carl"]).post(url)
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "acknowledged" and data["acknowledged_by"] == "carl"
    assert data["acknowledged_at"] is not None
    event = AuditEvent.objects.get(action="alert.acknowledge")
    assert event.actor == world.users["carl"] and event.object_id == str(alert.pk)
    assert event.changes["status"] == {"from": "open", "to": "acknowledged"}

    again = api(world.users["alice"]).post(url)
    assert again.status_code == 409 and "acknowledged" in again.json()["detail"]

    evaluate(make_report(watched, drifted=False))
    resolved = api(world.users["carl"]).post(url)
    assert resolved.status_code == 409 and "resolved" in resolved.json()["detail"]
    assert AuditEvent.objects.filter(action="alert.acknowledge").count() == 1
    alert.refresh_from_db()
    assert alert.acknowledged_by == world.users["carl"] and alert.status == "resolved"
