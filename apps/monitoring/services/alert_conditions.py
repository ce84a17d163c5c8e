"""What a rule says about one report: true, false, or unknown (the report cannot judge it).

Pure functions of the rule and the report's stored summary; no queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from apps.monitoring.models import AlertRule, DriftReport, ReportStatus, RuleKind

# metric_below watches metrics where higher is better, read from performance["current"].
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("r2",)
BELOW_METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS
# Lower is better: "below" would alert on the model getting better.
LOWER_IS_BETTER = ("rmse", "mae", "mse", "mape", "mean_error", "log_loss")

# Reports whose ops figures (traffic, errors, latency) are trustworthy.
_OPS_STATUSES = (ReportStatus.OK, ReportStatus.INSUFFICIENT_DATA)


@dataclass(frozen=True)
class Verdict:
    holds: bool | None  # None: unknown, the episode stays as it is
    value: float | None = None
    message: str = ""


UNKNOWN = Verdict(None)


def judge(rule: AlertRule, report: DriftReport) -> Verdict:
    return _JUDGES[rule.kind](rule, report)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _dataset_drift(rule: AlertRule, report: DriftReport) -> Verdict:
    share = _number(report.drift_share)
    if report.status != ReportStatus.OK or report.dataset_drift is None or share is None:
        return UNKNOWN
    tested = len(report.columns or [])
    counts = f"{report.drifted_columns} of {tested} columns drifted"
    threshold = _fmt(report.drift_share_threshold)
    if report.dataset_drift:
        return Verdict(True, share, f"dataset drift: {counts} (share {_fmt(share)} ≥ {threshold})")
    return Verdict(False, share, f"no dataset drift: {counts} (share {_fmt(share)} < {threshold})")


def _drift_share_above(rule: AlertRule, report: DriftReport) -> Verdict:
    share = _number(report.drift_share)
    if report.status != ReportStatus.OK or share is None or rule.threshold is None:
        return UNKNOWN
    above = share > rule.threshold
    relation = "above" if above else "not above"
    return Verdict(above, share, f"drift share {_fmt(share)} {relation} {_fmt(rule.threshold)}")


def _feature_drifted(rule: AlertRule, report: DriftReport) -> Verdict:
    if report.status != ReportStatus.OK:
        return UNKNOWN
    found = next(
        (
            c
            for c in report.columns or []
            if isinstance(c, dict) and c.get("column") == rule.feature
        ),
        None,
    )
    if found is None or not isinstance(found.get("drifted"), bool):
        return UNKNOWN  # not tested in this report
    score = _number(found.get("score"))
    detail = f"{found.get('test') or 'test'} score {_fmt(score) if score is not None else '?'}"
    threshold = _number(found.get("threshold"))
    if threshold is not None:
        detail += f", threshold {_fmt(threshold)}"
    if found["drifted"]:
        return Verdict(True, score, f"feature '{rule.feature}' drifted ({detail})")
    return Verdict(False, score, f"feature '{rule.feature}' did not drift ({detail})")


def _metric_below(rule: AlertRule, report: DriftReport) -> Verdict:
    performance = report.performance if isinstance(report.performance, dict) else {}
    current = performance.get("current")
    value = _number(current.get(rule.metric)) if isinstance(current, dict) else None
    if value is None or rule.threshold is None:
        return UNKNOWN  # no labelled rows in the window, or the metric is not computed
    below = value < rule.threshold
    relation = "below" if below else "not below"
    return Verdict(below, value, f"{rule.metric} {_fmt(value)} {relation} {_fmt(rule.threshold)}")


def _ops(report: DriftReport) -> dict[str, Any] | None:
    ops = report.ops if isinstance(report.ops, dict) else {}
    requests = _number(ops.get("requests"))
    if report.status not in _OPS_STATUSES or not requests:
        return None  # no traffic in the window: nothing to judge
    return ops


def _error_rate_above(rule: AlertRule, report: DriftReport) -> Verdict:
    ops = _ops(report)
    if ops is None or rule.threshold is None:
        return UNKNOWN
    rate = _number(ops.get("error_rate"))
    errors = _number(ops.get("errors"))
    if rate is None and errors is not None:
        rate = errors / ops["requests"]
    if rate is None:
        return UNKNOWN
    above = rate > rule.threshold
    relation = "above" if above else "not above"
    counts = f" ({int(errors)} of {int(ops['requests'])} requests)" if errors is not None else ""
    return Verdict(above, rate, f"error rate {rate:.2%} {relation} {rule.threshold:.2%}{counts}")


def _latency_p95_above(rule: AlertRule, report: DriftReport) -> Verdict:
    ops = _ops(report)
    p95 = _number(ops.get("latency_p95_ms")) if ops is not None else None
    if p95 is None or rule.threshold is None:
        return UNKNOWN
    above = p95 > rule.threshold
    relation = "above" if above else "not above"
    return Verdict(above, p95, f"p95 latency {_fmt(p95)} ms {relation} {_fmt(rule.threshold)} ms")


_JUDGES = {
    RuleKind.DATASET_DRIFT: _dataset_drift,
    RuleKind.DRIFT_SHARE_ABOVE: _drift_share_above,
    RuleKind.FEATURE_DRIFTED: _feature_drifted,
    RuleKind.METRIC_BELOW: _metric_below,
    RuleKind.ERROR_RATE_ABOVE: _error_rate_above,
    RuleKind.LATENCY_P95_ABOVE: _latency_p95_above,
}
