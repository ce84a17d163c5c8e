"""Alert episodes from real DriftReport rows: one alert per condition episode, kept while the
condition holds, resolved when it clears, a new one when it returns; each rule kind's true /
false / unknown; who is told (inbox, webhooks), and that a rolled-back report tells no one.

The fixtures and report helpers here are shared by the other test_alerts_* modules."""

# Fixtures are imported from other test modules and requested by name.
# ruff: noqa: F811

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from apps.core.models import AuditEvent
from apps.monitoring.models import Alert, AlertRule, AlertStatus, DriftReport, Monitor, RuleKind
from apps.monitoring.services.alert_conditions import judge
from apps.monitoring.services.alert_rules import alert_rule_delete, alert_rule_update
from apps.monitoring.services.alerts import alerts_evaluate
from apps.notifications.delivery import webhook_deliver
from apps.notifications.models import InboxItem, Webhook, WebhookDelivery
from apps.notifications.webhooks import webhook_create
from apps.registry.models import Stage
from tests.deployments.conftest import deployment_factory  # noqa: F401
from tests.notifications.conftest import SECRET, receiver  # noqa: F401
from tests.registry.conftest import model_version_factory  # noqa: F401

pytestmark = pytest.mark.django_db

DRIFTED_COLUMNS = [
    {"column": "x1", "test": "K-S p_value", "score": 0.001, "threshold": 0.05, "drifted": True},
    {"column": "x2", "test": "K-S p_value", "score": 0.002, "threshold": 0.05, "drifted": True},
    {"column": "colour", "test": "chi-square p_value", "score": 0.4, "threshold": 0.05,
     "drifted": False},
]  # fmt: skip
CLEAN_COLUMNS = [{**c, "score": 0.6, "drifted": False} for c in DRIFTED_COLUMNS]
OPS = {"requests": 200, "errors": 2, "error_rate": 0.01, "latency_p95_ms": 12.0}


@pytest.fixture
def watched(world, model_version_factory, deployment_factory) -> Monitor:
    """A monitor of the production deployment of model churn (inputs x1, x2, colour), cheap:
    rows straight from the ORM, no dataset processing."""
    version = model_version_factory(stage=Stage.PRODUCTION)
    deployment, _ = deployment_factory(
        stable=version, slug="churn-production", environment="production"
    )
    return Monitor.objects.create(
        project=world.alpha, deployment=deployment, name="drift", schedule_minutes=0,
        min_rows=50, created_by=world.users["alice"],
    )  # fmt: skip


def add_rule(monitor: Monitor, kind: str, **fields: Any) -> AlertRule:
    return AlertRule.objects.create(monitor=monitor, kind=kind, **fields)


def make_report(monitor: Monitor, *, drifted: bool = True, **fields: Any) -> DriftReport:
    """A finished report: by default ok, with 2 of 3 columns drifted (or none when not
    `drifted`), no labels, and normal traffic."""
    columns = DRIFTED_COLUMNS if drifted else CLEAN_COLUMNS
    values: dict[str, Any] = {
        "status": "ok",
        "rows_reference": 190,
        "rows_current": 200,
        "dataset_drift": drifted,
        "drift_share": 2 / 3 if drifted else 0.0,
        "drift_share_threshold": 0.5,
        "drifted_columns": 2 if drifted else 0,
        "columns": columns,
        "performance": None,
        "ops": OPS,
    }
    values.update(fields)
    return DriftReport.objects.create(monitor=monitor, **values)


def evaluate(report: DriftReport) -> list[Alert]:
    # As the drift job does: inside the transaction that stores the report.
    with transaction.atomic():
        return alerts_evaluate(report=report)


# --- episodes -------------------------------------------------------------------------------


def test_an_episode_opens_once_is_kept_resolves_and_a_new_one_opens(world, watched):
    rule = add_rule(watched, RuleKind.DATASET_DRIFT)

    first = make_report(watched)
    [alert] = evaluate(first)
    assert (alert.status, alert.kind, alert.rule_id) == ("open", "dataset_drift", rule.pk)
    assert alert.project_id == world.alpha.pk and alert.monitor_id == watched.pk
    assert alert.opened_report_id == alert.last_report_id == first.pk
    assert alert.value == pytest.approx(2 / 3) and alert.opened_at is not None
    assert "2 of 3 columns drifted" in alert.message and "0.5" in alert.message

    second = make_report(watched, drift_share=1.0)
    assert evaluate(second) == []
    assert Alert.objects.count() == 1
    alert.refresh_from_db()
    assert alert.status == "open" and alert.last_report_id == second.pk
    assert alert.opened_report_id == first.pk
    assert alert.value == pytest.approx(2 / 3) and alert.last_value == 1.0

    clean = make_report(watched, drifted=False)
    assert evaluate(clean) == []
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_report_id == clean.pk
    assert alert.resolved_at >= alert.opened_at

    again = make_report(watched)
    [new] = evaluate(again)
    assert new.pk != alert.pk and new.opened_report_id == again.pk
    statuses = dict(Alert.objects.values_list("pk", "status"))
    assert statuses == {alert.pk: "resolved", new.pk: "open"}

    audit = list(
        AuditEvent.objects.filter(object_type="monitoring.alert")
        .order_by("id")
        .values_list("action", "object_id", "actor")
    )
    assert audit == [
        ("alert.open", str(alert.pk), None),
        ("alert.resolve", str(alert.pk), None),
        ("alert.open", str(new.pk), None),
    ]


def test_an_acknowledged_alert_still_resolves_when_the_condition_clears(world, watched):
    add_rule(watched, RuleKind.DATASET_DRIFT)
    [alert] = evaluate(make_report(watched))
    Alert.objects.filter(pk=alert.pk).update(status=AlertStatus.ACKNOWLEDGED)
    assert evaluate(make_report(watched)) == []  # still drifted: no second alert
    assert Alert.objects.get().status == "acknowledged"
    evaluate(make_report(watched, drifted=False))
    assert Alert.objects.get().status == "resolved"


def test_a_report_that_cannot_judge_leaves_the_episode_alone(world, watched):
    add_rule(watched, RuleKind.DATASET_DRIFT)
    first = make_report(watched)
    [alert] = evaluate(first)
    thin = make_report(watched, status="insufficient_data", dataset_drift=None, drift_share=None,
                       columns=[], rows_current=3)  # fmt: skip
    assert evaluate(thin) == []
    alert.refresh_from_db()
    assert alert.status == "open" and alert.last_report_id == first.pk
    # And a thin window never opens one either.
    Alert.objects.all().delete()
    assert evaluate(thin) == [] and not Alert.objects.exists()


def test_each_rule_opens_its_own_alert_and_disabled_rules_are_skipped(world, watched):
    drift = add_rule(watched, RuleKind.DATASET_DRIFT)
    feature = add_rule(watched, RuleKind.FEATURE_DRIFTED, feature="x1")
    add_rule(watched, RuleKind.DRIFT_SHARE_ABOVE, threshold=0.1, enabled=False)
    opened = evaluate(make_report(watched))
    assert sorted(a.rule_id for a in opened) == [drift.pk, feature.pk]
    assert "feature 'x1' drifted" in next(a for a in opened if a.rule_id == feature.pk).message


# --- rule kinds: true / false / unknown -----------------------------------------------------

LABELS = {"reference": {"accuracy": 0.9}, "current": {"accuracy": 0.7, "f1": 0.65}}
THIN = {"status": "insufficient_data", "dataset_drift": None, "drift_share": None, "columns": []}
NO_TRAFFIC = {"ops": {"requests": 0, "errors": 0, "error_rate": None, "latency_p95_ms": None}}

KIND_CASES = [
    # kind, rule options, report options, expected verdict, expected value
    ("dataset_drift", {}, {}, True, 2 / 3),
    ("dataset_drift", {}, {"drifted": False}, False, 0.0),
    ("dataset_drift", {}, THIN, None, None),
    ("dataset_drift", {}, {"status": "failed", "dataset_drift": None}, None, None),
    ("drift_share_above", {"threshold": 0.5}, {}, True, 2 / 3),
    ("drift_share_above", {"threshold": 0.7}, {}, False, 2 / 3),
    ("drift_share_above", {"threshold": 0.5}, {"drift_share": 0.5}, False, 0.5),
    ("drift_share_above", {"threshold": 0.5}, THIN, None, None),
    ("feature_drifted", {"feature": "x1"}, {}, True, 0.001),
    ("feature_drifted", {"feature": "colour"}, {}, False, 0.4),
    ("feature_drifted", {"feature": "amount"}, {}, None, None),  # not tested in this report
    ("feature_drifted", {"feature": "x1"}, THIN, None, None),
    ("metric_below", {"metric": "accuracy", "threshold": 0.8}, {"performance": LABELS}, True, 0.7),
    ("metric_below", {"metric": "f1", "threshold": 0.6}, {"performance": LABELS}, False, 0.65),
    ("metric_below", {"metric": "accuracy", "threshold": 0.8}, {}, None, None),  # no labels
    ("metric_below", {"metric": "recall", "threshold": 0.8}, {"performance": LABELS}, None, None),
    ("error_rate_above", {"threshold": 0.05}, {"ops": {**OPS, "errors": 20, "error_rate": 0.1}},
     True, 0.1),
    ("error_rate_above", {"threshold": 0.05}, {}, False, 0.01),
    ("error_rate_above", {"threshold": 0.05}, NO_TRAFFIC, None, None),
    # Traffic is judged even when the window is too thin for drift.
    ("error_rate_above", {"threshold": 0.05}, {**THIN, "ops": {"requests": 10, "errors": 5}},
     True, 0.5),
    ("latency_p95_above", {"threshold": 100}, {"ops": {**OPS, "latency_p95_ms": 350.0}},
     True, 350.0),
    ("latency_p95_above", {"threshold": 100}, {}, False, 12.0),
    ("latency_p95_above", {"threshold": 100}, NO_TRAFFIC, None, None),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "options", "report", "holds", "value"), KIND_CASES)
def test_rule_kind_verdicts(world, watched, kind, options, report, holds, value):
    rule = add_rule(watched, kind, **options)
    verdict = judge(rule, make_report(watched, **report))
    assert verdict.holds is holds
    assert verdict.value == (pytest.approx(value) if value is not None else None)
    if holds is not None:  # the message names the value (and the threshold when there is one)
        assert verdict.message
        if "threshold" in options and kind != "error_rate_above":
            assert f"{options['threshold']:.4g}" in verdict.message


@pytest.mark.parametrize(("kind", "options", "report", "holds", "value"), KIND_CASES)
def test_rule_kind_effect_on_an_open_episode(world, watched, kind, options, report, holds, value):
    """true keeps the episode, false resolves it, unknown leaves it untouched."""
    rule = add_rule(watched, kind, **options)
    earlier = make_report(watched)
    open_alert = Alert.objects.create(
        project=world.alpha, monitor=watched, rule=rule, kind=kind, message="earlier",
        value=1.0, opened_report=earlier, last_report=earlier, opened_at=earlier.created_at,
    )  # fmt: skip
    now = make_report(watched, **report)
    assert evaluate(now) == []
    open_alert.refresh_from_db()
    expected = {True: ("open", now.pk), False: ("resolved", earlier.pk), None: ("open", earlier.pk)}
    assert (open_alert.status, open_alert.last_report_id) == expected[holds]
    assert Alert.objects.count() == 1


# --- who is told ----------------------------------------------------------------------------


def inbox(world) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, event in InboxItem.objects.order_by("id").values_list("user__username", "event"):
        found.setdefault(name, []).append(event)
    return found


def test_contributors_and_above_are_told_once_per_episode(world, watched):
    add_rule(watched, RuleKind.DATASET_DRIFT)
    [alert] = evaluate(make_report(watched))
    told = inbox(world)
    assert told == {n: ["alert.opened"] for n in ("alice", "carl", "rita")}  # not vera, not eve
    item = InboxItem.objects.get(user=world.users["carl"])
    assert item.project_id == world.alpha.pk
    assert item.url == f"/alerts/?status=open#alert-{alert.pk}"
    assert "churn-production" in item.title and "2 of 3 columns drifted" in item.title

    evaluate(make_report(watched))  # the same episode: nobody is told again
    assert InboxItem.objects.count() == 3

    evaluate(make_report(watched, drifted=False))
    assert inbox(world) == {
        n: ["alert.opened", "alert.resolved"] for n in ("alice", "carl", "rita")
    }
    resolved = InboxItem.objects.get(user=world.users["rita"], event="alert.resolved")
    assert resolved.title.startswith("Resolved on churn-production: no dataset drift")


def test_alert_opened_reaches_a_webhook_receiver(
    world,
    watched,
    receiver,
    django_capture_on_commit_callbacks,
):
    webhook_create(actor=world.users["alice"], project=world.alpha, url=receiver.url,
                   secret=SECRET)  # fmt: skip
    # Subscribed to another event only (written directly: the API's event list is the
    # notifications app's): it gets nothing.
    Webhook.objects.create(project=world.alpha, url=receiver.url, secret=SECRET,
                           events=["alert.resolved"])  # fmt: skip
    add_rule(watched, RuleKind.FEATURE_DRIFTED, feature="x2")
    with django_capture_on_commit_callbacks(execute=False) as sent:
        [alert] = evaluate(make_report(watched))
    assert len(sent) == 1  # the delivery's task goes out after commit
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "alert.opened"
    assert webhook_deliver(delivery_id=delivery.pk).status == "succeeded"

    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["x-portal-event"] == "alert.opened"
    body = json.loads(request.body)
    assert body["event"] == "alert.opened" and body["project"] == "alpha"
    data = body["data"]
    assert data["id"] == alert.pk and data["status"] == "open"
    assert data["kind"] == "feature_drifted" and data["rule"]["feature"] == "x2"
    assert data["deployment"] == "churn-production" and data["value"] == 0.002
    assert data["monitor"] == {"id": watched.pk, "name": "drift"}
    assert data["opened_report"] == alert.opened_report_id


def test_a_rolled_back_report_opens_nothing_and_tells_no_one(
    world,
    watched,
    receiver,
    django_capture_on_commit_callbacks,
):
    webhook_create(actor=world.users["alice"], project=world.alpha, url=receiver.url)
    add_rule(watched, RuleKind.DATASET_DRIFT)
    report = make_report(watched)
    with (
        django_capture_on_commit_callbacks(execute=True) as sent,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        assert len(alerts_evaluate(report=report)) == 1
        raise RuntimeError("storing the report failed")
    assert sent == []
    assert not Alert.objects.exists() and not InboxItem.objects.exists()
    assert not WebhookDelivery.objects.exists() and receiver.requests == []
    assert not AuditEvent.objects.filter(action="alert.open").exists()


# --- rules going away -----------------------------------------------------------------------


def test_disabling_or_deleting_a_rule_resolves_its_alert_and_says_so(world, watched):
    carl = world.users["carl"]
    share = add_rule(watched, RuleKind.DRIFT_SHARE_ABOVE, threshold=0.5)
    drift = add_rule(watched, RuleKind.DATASET_DRIFT)
    first, second = sorted(evaluate(make_report(watched)), key=lambda a: a.rule_id)

    alert_rule_update(actor=carl, rule=share, enabled=False)
    first.refresh_from_db()
    assert first.status == "resolved" and first.resolved_report_id is None
    event = AuditEvent.objects.get(action="alert.resolve", object_id=str(first.pk))
    assert event.actor == carl and event.changes["note"] == "its rule was disabled"

    alert_rule_delete(actor=carl, rule=drift)
    assert not Alert.objects.filter(pk=second.pk).exists()  # its history went with the rule
    assert AuditEvent.objects.filter(action="alert.resolve", object_id=str(second.pk)).exists()
    assert InboxItem.objects.filter(user=carl, event="alert.resolved").count() == 2
    # A disabled rule is not evaluated: nothing reopens.
    assert evaluate(make_report(watched)) == []


@pytest.mark.django_db(transaction=True)
def test_two_reports_stored_at_once_open_one_alert(world, watched):
    """The second evaluation waits for the first's rule lock, then finds its episode."""
    rule = add_rule(watched, RuleKind.DATASET_DRIFT)
    first, second = make_report(watched), make_report(watched)
    holding, release = threading.Event(), threading.Event()
    opened: dict[str, list[Alert]] = {}
    errors: list[BaseException] = []

    def store(name: str, report: DriftReport, hold: bool) -> None:
        try:
            with transaction.atomic():
                opened[name] = alerts_evaluate(report=report)
                if hold:
                    holding.set()
                    release.wait(10)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    a = threading.Thread(target=store, args=("first", first, True))
    a.start()
    assert holding.wait(10)
    b = threading.Thread(target=store, args=("second", second, False))
    b.start()
    time.sleep(0.5)  # b is now blocked on the rule's lock
    assert "second" not in opened
    release.set()
    a.join(10)
    b.join(10)
    assert errors == []
    assert len(opened["first"]) == 1 and opened["second"] == []
    alert = Alert.objects.get(rule=rule)
    assert alert.opened_report_id == first.pk and alert.last_report_id == second.pk
