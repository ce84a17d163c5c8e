"""Read side of the monitoring pages: the overview of deployments and their monitors, one
monitor's recent reports turned into chart series, and the stored Evidently report.

Everything is scoped to the caller's projects and costs a fixed number of queries."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.core.permissions import scope_to_member_projects
from apps.deployments.models import Deployment
from apps.deployments.selectors.deployments import deployment_list
from apps.monitoring.models import (
    OPEN_ALERT_STATUSES,
    Alert,
    DriftReport,
    Monitor,
    ReportStatus,
)
from apps.registry.models import ModelVersion

CHART_REPORTS = 50
RECENT_RUNS = 10
MAX_CLASSES = 10
# Drift strength is capped here: beyond twice past the threshold every cell is equally red.
STRENGTH_CAP = 2.0


def _open_alert_count() -> Coalesce:
    counted = (
        Alert.objects.filter(monitor=OuterRef("pk"), status__in=OPEN_ALERT_STATUSES)
        .order_by()
        .values("monitor")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def monitors_with_latest() -> QuerySet[Monitor]:
    """Monitors annotated with their latest report (any status) and open alert count."""
    latest = DriftReport.objects.filter(monitor=OuterRef("pk")).order_by("-created_at", "-id")
    return Monitor.objects.annotate(
        latest_id=Subquery(latest.values("pk")[:1]),
        latest_status=Subquery(latest.values("status")[:1]),
        latest_at=Subquery(latest.values("created_at")[:1]),
        latest_dataset_drift=Subquery(latest.values("dataset_drift")[:1]),
        latest_drift_share=Subquery(latest.values("drift_share")[:1]),
        open_alerts=_open_alert_count(),
    ).order_by("name", "id")


def monitoring_overview(*, user: AbstractBaseUser, project: str = "") -> QuerySet[Deployment]:
    """Deployments of the caller's projects, monitored ones first, each with `monitor_rows`
    (monitors_with_latest)."""
    deployments = deployment_list(user=user)
    if project:
        deployments = deployments.filter(project__slug=project)
    return deployments.annotate(
        has_monitor=Exists(Monitor.objects.filter(deployment=OuterRef("pk"))),
    ).prefetch_related(
        Prefetch("monitors", queryset=monitors_with_latest(), to_attr="monitor_rows")
    ).order_by("-has_monitor", "project__slug", "slug")  # fmt: skip


def deployment_monitors(*, deployment: Deployment) -> list[Monitor]:
    return list(
        Monitor.objects.filter(deployment=deployment)
        .select_related("reference_dataset_version__dataset")
        .order_by("name", "id")
    )


def served_version(*, deployment: Deployment) -> ModelVersion | None:
    """The stable version now served, with the dataset version its default reference comes from."""
    revision = deployment.current_revision
    if revision is None:
        return None
    return (
        ModelVersion.objects.filter(pk=revision.stable_id)
        .select_related("registered_model", "dataset_version__dataset")
        .only(
            "version",
            "registered_model__name",
            "dataset_version__version",
            "dataset_version__dataset__name",
        )
        .first()
    )


def recent_reports(*, monitor: Monitor, limit: int = CHART_REPORTS) -> list[DriftReport]:
    """The last `limit` reports of any status, oldest first (the order charts read)."""
    reports = list(
        DriftReport.objects.filter(monitor=monitor)
        .defer("html_path")
        .order_by("-created_at", "-id")[:limit]
    )
    reports.reverse()
    return reports


def latest_finished_report(*, monitor: Monitor) -> DriftReport | None:
    """The newest report with a verdict and an Evidently HTML file: what the page embeds."""
    return (
        DriftReport.objects.filter(monitor=monitor, status=ReportStatus.OK)
        .exclude(html_path="")
        .order_by("-created_at", "-id")
        .first()
    )


def report_for_user(*, user: AbstractBaseUser, pk: int) -> DriftReport | None:
    reports = scope_to_member_projects(DriftReport.objects.all(), user, "monitor__project")
    return reports.filter(pk=pk).only("pk", "html_path", "status").first()


def column_rows(report: DriftReport) -> list[dict[str, Any]]:
    """The per-column table of a report, drifted first, scores in 4 significant digits (a
    p-value of 1e-15 must not read as 0)."""
    rows = [
        {
            "column": str(row.get("column", "")),
            "test": str(row.get("test", "")),
            "score": _fmt(row.get("score")),
            "threshold": _fmt(row.get("threshold")),
            "drifted": bool(row.get("drifted")),
        }
        for row in report.columns or []
        if isinstance(row, dict)
    ]
    rows.sort(key=lambda row: not row["drifted"])
    return rows


# -- chart series ---------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    number = _finite(value)
    return "n/a" if number is None else f"{number:.4g}"


def _t(moment: datetime | None) -> str | None:
    # UTC without an offset: plotly.js ignores offsets, so say the zone on the axis instead.
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def drift_strength(score: Any, threshold: Any, drifted: bool) -> float | None:
    """How far a test's score sits past its threshold, in that test's own direction: 1 is the
    threshold, above 1 drifted. P-values drift below their threshold and distances above it;
    Evidently's own verdict tells which one a row is, so no table of method names is needed."""
    score, threshold = _finite(score), _finite(threshold)
    if score is None or threshold is None or threshold <= 0:
        return None
    lower_drifts = (not drifted) if score == threshold else ((score < threshold) == drifted)
    if lower_drifts:
        if threshold >= 1:
            return None
        if score <= 0:
            strength = STRENGTH_CAP
        elif score >= 1:
            strength = 0.0
        else:
            strength = math.log(score) / math.log(threshold)
    else:
        strength = score / threshold
    strength = min(max(strength, 0.0), STRENGTH_CAP)
    # A verdict on the boundary must land on its own side of the colour scale.
    return max(strength, 1.0) if drifted else min(strength, 0.99)


def _heatmap(finished: list[DriftReport]) -> dict[str, Any]:
    features: list[str] = []
    for report in reversed(finished):  # the latest report's columns first
        for row in report.columns or []:
            name = str(row.get("column", ""))
            if name and name not in features:
                features.append(name)
    z = [[None] * len(finished) for _ in features]
    hover = [[""] * len(finished) for _ in features]
    index = {name: i for i, name in enumerate(features)}
    for j, report in enumerate(finished):
        for row in report.columns or []:
            i = index.get(str(row.get("column", "")))
            if i is None:
                continue
            drifted = bool(row.get("drifted"))
            z[i][j] = drift_strength(row.get("score"), row.get("threshold"), drifted)
            if z[i][j] is None:
                z[i][j] = STRENGTH_CAP if drifted else 0.0
            hover[i][j] = (
                f"{_t(report.created_at)} UTC, {row.get('test', '?')}: "
                f"score {_fmt(row.get('score'))}, threshold {_fmt(row.get('threshold'))}, "
                f"{'drifted' if drifted else 'not drifted'} (report #{report.pk})"
            )
    return {
        # One column per run, in order: a category axis keeps every run visible however
        # unevenly they are spaced in time (a manual run minutes after a scheduled one).
        "x": [f"#{r.pk}" for r in finished],
        "labels": [r.created_at.strftime("%m-%d %H:%M") for r in finished],
        "y": features,
        "z": z,
        "text": hover,
        "cap": STRENGTH_CAP,
    }


def _share(reports: list[DriftReport], threshold: float) -> dict[str, Any]:
    ok_x, ok_y, ok_text = [], [], []
    gaps: dict[str, list] = {ReportStatus.INSUFFICIENT_DATA: [], ReportStatus.FAILED: []}
    gap_text: dict[str, list] = {ReportStatus.INSUFFICIENT_DATA: [], ReportStatus.FAILED: []}
    for report in reports:
        t = _t(report.created_at)
        if report.status == ReportStatus.OK:
            ok_x.append(t)
            ok_y.append(_finite(report.drift_share))
            ok_text.append(
                f"report #{report.pk}: {report.drifted_columns} drifted column(s), "
                f"dataset drift {'yes' if report.dataset_drift else 'no'}"
            )
        elif report.status in gaps:
            # A run without a verdict breaks the line instead of pretending to be 0.
            ok_x.append(t)
            ok_y.append(None)
            ok_text.append("")
            gaps[report.status].append(t)
            gap_text[report.status].append(
                f"report #{report.pk}: {report.rows_current} current / "
                f"{report.rows_reference} reference rows"
                if report.status == ReportStatus.INSUFFICIENT_DATA
                else f"report #{report.pk} failed: {report.error[:200]}"
            )
    return {
        "x": ok_x,
        "y": ok_y,
        "text": ok_text,
        "threshold": threshold,
        "insufficient": {
            "x": gaps[ReportStatus.INSUFFICIENT_DATA],
            "text": gap_text[ReportStatus.INSUFFICIENT_DATA],
        },
        "failed": {"x": gaps[ReportStatus.FAILED], "text": gap_text[ReportStatus.FAILED]},
    }


def _performance(finished: list[DriftReport]) -> dict[str, Any] | None:
    labelled = [
        r
        for r in finished
        if isinstance(r.performance, dict)
        and (r.performance.get("current") or {}).get("rows_labelled")
    ]
    if not labelled:
        return None
    metric = next(
        (m for m in ("accuracy", "rmse") for r in labelled if m in r.performance["current"]),
        None,
    )
    if metric is None:
        return None
    series: dict[str, Any] = {"metric": metric, "x": [], "current": [], "reference": [], "rows": []}
    for report in labelled:
        current = report.performance.get("current") or {}
        reference = report.performance.get("reference") or {}
        series["x"].append(_t(report.created_at))
        series["current"].append(_finite(current.get(metric)))
        series["reference"].append(_finite(reference.get(metric)))
        series["rows"].append(current.get("rows_labelled") or 0)
    return series


def _predictions(finished: list[DriftReport]) -> dict[str, Any] | None:
    with_classes = [
        r
        for r in finished
        if (r.predictions or {}).get("kind") == "classes" and r.predictions.get("counts")
    ]
    with_histogram = [
        r
        for r in finished
        if (r.predictions or {}).get("kind") == "histogram" and r.predictions.get("counts")
    ]
    # A deployment switching kind (classes <-> regression) shows the kind of its latest report.
    if with_classes and (
        not with_histogram or with_classes[-1].created_at >= with_histogram[-1].created_at
    ):
        return _class_shares(with_classes)
    if with_histogram:
        return _histograms(with_histogram)
    return None


def _class_shares(reports: list[DriftReport]) -> dict[str, Any]:
    totals: Counter[str] = Counter()
    for report in reports:
        for label, n in report.predictions["counts"].items():
            totals[str(label)] += _finite(n) or 0
    shown = [label for label, _ in totals.most_common(MAX_CLASSES)]
    other = len(totals) > len(shown)
    shares: dict[str, list[float]] = {label: [] for label in shown}
    if other:
        shares["(other)"] = []
    for report in reports:
        counts = {str(k): _finite(v) or 0 for k, v in report.predictions["counts"].items()}
        total = sum(counts.values()) or 1
        for label in shown:
            shares[label].append(counts.get(label, 0) / total)
        if other:
            shares["(other)"].append(sum(v for k, v in counts.items() if k not in shown) / total)
    return {
        "kind": "classes",
        "x": [f"#{r.pk}" for r in reports],
        "labels": [r.created_at.strftime("%m-%d %H:%M") for r in reports],
        "classes": [{"label": k, "share": v} for k, v in shares.items()],
    }


def _histograms(reports: list[DriftReport]) -> dict[str, Any]:
    latest = reports[-1].predictions
    edges = [_finite(e) for e in latest.get("edges") or []]
    counts = [_finite(c) or 0 for c in latest.get("counts") or []]
    bins = []
    if len(edges) == len(counts) + 1 and None not in edges:
        bins = [
            {"mid": (lo + hi) / 2, "width": hi - lo, "count": n}
            for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
        ]
    return {
        "kind": "histogram",
        "x": [_t(r.created_at) for r in reports],
        "mean": [_finite(r.predictions.get("mean")) for r in reports],
        "latest": {"t": _t(reports[-1].created_at), "bins": bins},
    }


def chart_series(*, monitor: Monitor, reports: list[DriftReport]) -> dict[str, Any]:
    """Everything the page's charts draw, from `reports` (oldest first); JSON-serialisable."""
    finished = [r for r in reports if r.status == ReportStatus.OK]
    return {
        "heatmap": _heatmap(finished),
        "share": _share(reports, monitor.drift_share),
        "performance": _performance(finished),
        "predictions": _predictions(finished),
    }
