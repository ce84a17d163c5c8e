"""Alert episodes: evaluate a stored report against its monitor's rules, acknowledge, resolve.

An alert is one episode of a rule's condition holding. A report that finds the condition true
opens one if the rule has none unresolved (and tells people); later reports that still find it
true only move `last_report` / `last_value`; the first that finds it false resolves it. A report
that cannot judge a rule (no verdict, no labels, no traffic) leaves its episode as it is.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import APIException

from apps.core.models import Role
from apps.core.permissions import require_role
from apps.core.services.audit import audit_record
from apps.monitoring.models import (
    OPEN_ALERT_STATUSES,
    Alert,
    AlertRule,
    AlertStatus,
    DriftReport,
    Monitor,
)
from apps.monitoring.selectors.alerts import alert_recipients
from apps.monitoring.services.alert_conditions import Verdict, judge
from apps.notifications.services import notify

OPENED_EVENT = "alert.opened"
RESOLVED_EVENT = "alert.resolved"


class Conflict(APIException):
    status_code = 409
    default_detail = "This conflicts with the alert's current state."
    default_code = "conflict"


def alerts_evaluate(*, report: DriftReport) -> list[Alert]:
    """Called inside the transaction that stores `report`; returns the alerts it opened."""
    opened: list[Alert] = []
    with transaction.atomic():
        monitor = Monitor.objects.select_related("project", "deployment").get(pk=report.monitor_id)
        # Locking the rules serialises two reports of one monitor stored at once: the second
        # sees the first's episode instead of opening a duplicate.
        rules = list(
            AlertRule.objects.select_for_update()
            .filter(monitor=monitor, enabled=True)
            .order_by("id")
        )
        recipients = _Recipients(monitor.project_id)
        for rule in rules:
            rule.monitor = monitor
            verdict = judge(rule, report)
            if verdict.holds is None:
                continue
            current = (
                Alert.objects.select_for_update()
                .filter(rule=rule, status__in=OPEN_ALERT_STATUSES)
                .first()
            )
            if current is not None:
                current.monitor, current.rule = monitor, rule
            if verdict.holds and current is None:
                opened.append(_open(rule, report, verdict, recipients))
            elif verdict.holds:
                Alert.objects.filter(pk=current.pk).update(
                    last_value=verdict.value, last_report=report
                )
            elif current is not None:
                _resolve(current, report=report, note=verdict.message, users=recipients)
    return opened


class _Recipients:
    """Members told about alerts, read once per evaluation and only if something changes."""

    def __init__(self, project_id: int) -> None:
        self.project_id = project_id
        self._users: list[AbstractBaseUser] | None = None

    def __iter__(self):
        if self._users is None:
            self._users = alert_recipients(project_id=self.project_id)
        return iter(self._users)


def _open(rule: AlertRule, report: DriftReport, verdict: Verdict, users) -> Alert:
    monitor = rule.monitor
    alert = Alert.objects.create(
        project=monitor.project, monitor=monitor, rule=rule, kind=rule.kind,
        message=verdict.message, value=verdict.value, last_value=verdict.value,
        opened_report=report, last_report=report, opened_at=timezone.now(),
    )  # fmt: skip
    audit_record(
        actor=None, action="alert.open", obj=alert, project=monitor.project,
        changes={"status": {"from": None, "to": AlertStatus.OPEN}, **_facts(alert),
                 "report": report.pk},
    )  # fmt: skip
    notify(
        event=OPENED_EVENT, project=monitor.project, users=users,
        title=f"Alert on {monitor.deployment.slug}: {verdict.message}",
        body=f"Rule #{rule.pk} ({rule.get_kind_display().lower()}) of monitor "
             f"'{monitor.name}', drift report #{report.pk}.",
        url=alert_url(alert), payload=alert_payload(alert),
    )  # fmt: skip
    return alert


def _resolve(
    alert: Alert,
    *,
    report: DriftReport | None,
    note: str,
    users,
    actor: AbstractBaseUser | None = None,
) -> Alert:
    """Close the episode of a locked, unresolved alert (its condition cleared, or its rule
    went away) and say so."""
    previous = alert.status
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = timezone.now()
    alert.resolved_report = report
    alert.save(update_fields=["status", "resolved_at", "resolved_report"])
    monitor = alert.monitor
    audit_record(
        actor=actor, action="alert.resolve", obj=alert, project=monitor.project,
        changes={"status": {"from": previous, "to": AlertStatus.RESOLVED}, **_facts(alert),
                 "report": report.pk if report else None, "note": note},
    )  # fmt: skip
    notify(
        event=RESOLVED_EVENT, project=monitor.project, users=users,
        title=f"Resolved on {monitor.deployment.slug}: {note}",
        body=f"Alert #{alert.pk} ({alert.message}) is resolved.",
        url=alert_url(alert), payload={**alert_payload(alert), "note": note},
    )  # fmt: skip
    return alert


def alert_resolve_for_rule(*, actor: AbstractBaseUser, rule: AlertRule, note: str) -> None:
    """Resolve the rule's unresolved alert, if any: the rule is being disabled or deleted, so no
    later report would ever clear it. Call it inside the transaction holding the rule's lock."""
    current = (
        Alert.objects.select_for_update(of=("self",))
        .select_related("monitor__project", "monitor__deployment", "rule")
        .filter(rule=rule, status__in=OPEN_ALERT_STATUSES)
        .first()
    )
    if current is not None:
        users = _Recipients(current.project_id)
        _resolve(current, report=None, note=note, users=users, actor=actor)


def alert_acknowledge(*, actor: AbstractBaseUser, alert: Alert) -> Alert:
    """Someone is on it: open -> acknowledged. It still resolves itself when the condition
    clears; acknowledging an acknowledged or resolved alert is a 409."""
    require_role(actor, alert.project, Role.CONTRIBUTOR)
    with transaction.atomic():
        locked = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("project", "monitor__deployment", "rule")
            .get(pk=alert.pk)
        )
        if locked.status != AlertStatus.OPEN:
            raise Conflict(
                f"Alert #{locked.pk} is {locked.status}; only an open alert can be acknowledged."
            )
        locked.status = AlertStatus.ACKNOWLEDGED
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = actor
        locked.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
        audit_record(
            actor=actor, action="alert.acknowledge", obj=locked, project=locked.project,
            changes={"status": {"from": AlertStatus.OPEN, "to": AlertStatus.ACKNOWLEDGED},
                     **_facts(locked)},
        )  # fmt: skip
    return locked


def alert_url(alert: Alert) -> str:
    return f"{reverse('alerts')}?status={alert.status}#alert-{alert.pk}"


def _facts(alert: Alert) -> dict[str, Any]:
    return {"rule": alert.rule_id, "kind": alert.kind, "value": alert.value}


def alert_payload(alert: Alert) -> dict[str, Any]:
    """What webhooks carry: JSON-ready, ids and names only."""
    rule, monitor = alert.rule, alert.monitor
    return {
        "id": alert.pk,
        "status": alert.status,
        "kind": alert.kind,
        "message": alert.message,
        "value": alert.value,
        "last_value": alert.last_value,
        "rule": {
            "id": rule.pk,
            "threshold": rule.threshold,
            "feature": rule.feature,
            "metric": rule.metric,
        },
        "monitor": {"id": monitor.pk, "name": monitor.name},
        "deployment": monitor.deployment.slug,
        "opened_report": alert.opened_report_id,
        "last_report": alert.last_report_id,
        "resolved_report": alert.resolved_report_id,
        "opened_at": alert.opened_at,
        "resolved_at": alert.resolved_at,
        "url": alert_url(alert),
    }
