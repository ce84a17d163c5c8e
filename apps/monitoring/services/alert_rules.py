"""Alert rules of a monitor: create, change, delete, each checked against what its kind needs.

kind               threshold                 feature             metric
dataset_drift      -                         -                   -
drift_share_above  share in [0, 1]           -                   -
feature_drifted    -                         a monitored column  -
metric_below       the floor                 -                   accuracy, precision, recall,
                                                                 f1, roc_auc (classification)
                                                                 or r2 (regression)
error_rate_above   rate in [0, 1]            -                   -
latency_p95_above  milliseconds, > 0         -                   -
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.exceptions import ValidationError

from apps.core.models import Role
from apps.core.permissions import require_role
from apps.core.services.audit import audit_record
from apps.monitoring.models import AlertRule, Monitor, RuleKind
from apps.monitoring.selectors.alerts import monitor_features, monitor_task
from apps.monitoring.services.alert_conditions import (
    BELOW_METRICS,
    CLASSIFICATION_METRICS,
    LOWER_IS_BETTER,
    REGRESSION_METRICS,
)
from apps.monitoring.services.alerts import alert_resolve_for_rule

USES: dict[str, tuple[str, ...]] = {
    RuleKind.DATASET_DRIFT: (),
    RuleKind.DRIFT_SHARE_ABOVE: ("threshold",),
    RuleKind.FEATURE_DRIFTED: ("feature",),
    RuleKind.METRIC_BELOW: ("metric", "threshold"),
    RuleKind.ERROR_RATE_ABOVE: ("threshold",),
    RuleKind.LATENCY_P95_ABOVE: ("threshold",),
}
SPEC_FIELDS = ("kind", "threshold", "feature", "metric", "enabled")


def rule_errors(
    *, monitor: Monitor, kind: str, threshold: float | None, feature: str, metric: str
) -> dict[str, list[str]]:
    """Field-level messages for a rule that its kind cannot use; empty when it is sound."""
    errors: dict[str, list[str]] = {}
    uses = USES[kind]
    given = {"threshold": threshold is not None, "feature": bool(feature), "metric": bool(metric)}
    for field, present in given.items():
        if present and field not in uses:
            errors[field] = [f"A {kind} rule takes no {field}."]
        elif not present and field in uses:
            errors[field] = [f"A {kind} rule needs a {field}."]
    if errors:
        return errors
    if threshold is not None and not math.isfinite(threshold):
        return {"threshold": ["Give a finite number."]}
    if kind in (RuleKind.DRIFT_SHARE_ABOVE, RuleKind.ERROR_RATE_ABOVE) and not (
        0.0 <= threshold <= 1.0
    ):
        errors["threshold"] = ["A share between 0 and 1 (0.3 means 30 %)."]
    elif kind == RuleKind.LATENCY_P95_ABOVE and threshold <= 0:
        errors["threshold"] = ["Milliseconds, more than 0."]
    elif kind == RuleKind.FEATURE_DRIFTED:
        known = monitor_features(monitor)
        if known and feature not in known:
            errors["feature"] = [
                f"'{feature}' is not a monitored column; choose one of: {', '.join(known)}."
            ]
    elif kind == RuleKind.METRIC_BELOW:
        errors.update(_metric_errors(monitor, metric, threshold))
    return errors


def _metric_errors(monitor: Monitor, metric: str, threshold: float) -> dict[str, list[str]]:
    if metric in LOWER_IS_BETTER:
        return {
            "metric": [
                f"{metric} is lower-is-better, so a metric_below rule cannot watch it; use one "
                f"of {', '.join(BELOW_METRICS)}."
            ]
        }
    task = monitor_task(monitor)
    allowed = {"classification": CLASSIFICATION_METRICS, "regression": REGRESSION_METRICS}.get(
        task, BELOW_METRICS
    )
    if metric not in allowed:
        what = f"a {task} model" if task else "this model"
        return {
            "metric": [f"'{metric}' is not a metric of {what}; use one of {', '.join(allowed)}."]
        }
    if metric in CLASSIFICATION_METRICS and not 0.0 <= threshold <= 1.0:
        return {"threshold": [f"{metric} lies between 0 and 1."]}
    if metric == "r2" and threshold > 1.0:
        return {"threshold": ["r2 is at most 1."]}
    return {}


def _spec(rule: AlertRule) -> dict[str, Any]:
    return {field: getattr(rule, field) for field in SPEC_FIELDS}


def _refuse_duplicate(rule: AlertRule) -> None:
    twin = (
        AlertRule.objects.filter(
            monitor_id=rule.monitor_id,
            kind=rule.kind,
            threshold=rule.threshold,
            feature=rule.feature,
            metric=rule.metric,
        )
        .exclude(pk=rule.pk)
        .values_list("pk", flat=True)
        .first()
    )
    if twin is not None:
        raise ValidationError({"kind": [f"This monitor already has the same rule (#{twin})."]})


def alert_rule_create(
    *,
    actor: AbstractBaseUser,
    monitor: Monitor,
    kind: str,
    threshold: float | None = None,
    feature: str = "",
    metric: str = "",
    enabled: bool = True,
) -> AlertRule:
    require_role(actor, monitor.project, Role.CONTRIBUTOR)
    feature, metric = feature.strip(), metric.strip()
    errors = rule_errors(
        monitor=monitor, kind=kind, threshold=threshold, feature=feature, metric=metric
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Serialises rule changes of one monitor: the duplicate check below holds.
        Monitor.objects.select_for_update().filter(pk=monitor.pk).first()
        rule = AlertRule(
            monitor=monitor,
            kind=kind,
            threshold=threshold,
            feature=feature,
            metric=metric,
            enabled=enabled,
            created_by=actor,
        )
        _refuse_duplicate(rule)
        rule.save()
        audit_record(
            actor=actor,
            action="alert_rule.create",
            obj=rule,
            project=monitor.project,
            changes={"monitor": monitor.pk, **_spec(rule)},
        )
    return rule


def alert_rule_update(*, actor: AbstractBaseUser, rule: AlertRule, **fields: Any) -> AlertRule:
    """Change a rule's threshold, feature, metric or enabled flag (its kind is fixed: another
    condition is another rule). Disabling it resolves its unresolved alert."""
    monitor = rule.monitor
    require_role(actor, monitor.project, Role.CONTRIBUTOR)
    if "kind" in fields and fields["kind"] != rule.kind:
        raise ValidationError({"kind": ["A rule's kind cannot change; create another rule."]})
    with transaction.atomic():
        Monitor.objects.select_for_update().filter(pk=monitor.pk).first()
        locked = AlertRule.objects.select_for_update().get(pk=rule.pk)
        locked.monitor = monitor
        before = _spec(locked)
        for field in ("threshold", "feature", "metric", "enabled"):
            if field in fields:
                value = fields[field]
                setattr(locked, field, value.strip() if isinstance(value, str) else value)
        errors = rule_errors(
            monitor=monitor,
            kind=locked.kind,
            threshold=locked.threshold,
            feature=locked.feature,
            metric=locked.metric,
        )
        if errors:
            raise ValidationError(errors)
        _refuse_duplicate(locked)
        after = _spec(locked)
        if after == before:
            return locked
        locked.save(update_fields=["threshold", "feature", "metric", "enabled"])
        audit_record(
            actor=actor,
            action="alert_rule.update",
            obj=locked,
            project=monitor.project,
            changes={"from": before, "to": after},
        )
        if before["enabled"] and not locked.enabled:
            alert_resolve_for_rule(actor=actor, rule=locked, note="its rule was disabled")
    return locked


def alert_rule_delete(*, actor: AbstractBaseUser, rule: AlertRule) -> None:
    """Delete a rule and its alert history (the audit trail keeps both); an unresolved alert
    is resolved first, so subscribers hear that it ended."""
    monitor = rule.monitor
    require_role(actor, monitor.project, Role.CONTRIBUTOR)
    with transaction.atomic():
        locked = AlertRule.objects.select_for_update().get(pk=rule.pk)
        spec, rule_id = _spec(locked), locked.pk
        alert_resolve_for_rule(actor=actor, rule=locked, note="its rule was deleted")
        locked.delete()
        audit_record(
            actor=actor,
            action="alert_rule.delete",
            object_type="monitoring.alertrule",
            object_id=rule_id,
            project=monitor.project,
            changes={"monitor": monitor.pk, **spec},
        )
