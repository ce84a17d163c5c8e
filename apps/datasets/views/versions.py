"""Dataset version pages: schema, profile charts, validation results, the live status while the
version is processed, and the schema-evolution diff between two versions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from apps.datasets import selectors
from apps.datasets.api.views import NotReady, version_diff, version_diff_base
from apps.datasets.models import DatasetVersion, RuleKind, VersionStatus
from apps.datasets.views.common import ACTIVE_VERSION_STATUSES, error_messages, version_for
from apps.experiments.selectors import training_job_list

# Dozens of charts are already a lot to scroll; hundreds would also make the page slow to draw.
MAX_CHARTS = 50


@login_required
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = version_for(request, pk)
    charts = profile_charts(version)
    context = {
        **_status_context(version),
        "dataset": version.dataset,
        "columns": schema_rows(version),
        "validation": validation_rows(version),
        "charts": charts,
        "charted_columns": len(charts),
        "profiled_columns": len(version.profile or {}),
        "previous": None,
        "diff": None,
        "compare_choices": _compare_choices(request, version),
        "training_jobs": training_job_list(user=request.user).filter(dataset_version=version),
    }
    previous = selectors.previous_version(version)
    if previous is not None:
        context["previous"] = previous
        if version.status == VersionStatus.READY and previous.status == VersionStatus.READY:
            context["diff"] = for_display(version_diff(previous, version))
    return render(request, "datasets/version_detail.html", context)


@login_required
def version_status(request: HttpRequest, pk: int) -> HttpResponse:
    version = version_for(request, pk)
    response = render(request, "datasets/partials/version_status.html", _status_context(version))
    if (
        request.headers.get("HX-Request") == "true"
        and version.status not in ACTIVE_VERSION_STATUSES
    ):
        # Only a page that loaded while the version was busy polls; now that it is done, reload
        # that page once so the schema, charts and validation results it could not show appear.
        response["HX-Refresh"] = "true"
    return response


def _status_context(version: DatasetVersion) -> dict[str, Any]:
    return {
        "version": version,
        "job": version.job,
        "poll": version.status in ACTIVE_VERSION_STATUSES,
    }


@login_required
def version_diff_page(request: HttpRequest, pk: int) -> HttpResponse:
    other = version_for(request, pk)
    context: dict[str, Any] = {
        "version": other,
        "dataset": other.dataset,
        "base": None,
        "diff": None,
        "problems": [],
        "compare_choices": _compare_choices(request, other),
        "chosen_base": request.GET.get("base", ""),
    }
    status = 200
    try:
        # The API's own helpers, so the page and GET .../diff/?base= agree on every message.
        # They read DRF's request.query_params, hence the wrapper.
        base = version_diff_base(
            Request(request), selectors.dataset_version_list(user=request.user)
        )
        context["base"] = base
        context["diff"] = for_display(version_diff(base, other))
    except ValidationError as exc:
        context["problems"] = error_messages(exc.detail)
        status = 400
    except NotReady as exc:
        # Not an error of the request: the versions are still being processed.
        context["problems"] = error_messages(exc.detail)
    return render(request, "datasets/version_diff.html", context, status=status)


def _compare_choices(request: HttpRequest, version: DatasetVersion) -> list[DatasetVersion]:
    """The other ready versions of the same dataset, newest first, for the "compare with"
    select (only ready versions have a schema to compare)."""
    return list(
        selectors.dataset_version_list(user=request.user)
        .filter(dataset_id=version.dataset_id, status=VersionStatus.READY)
        .exclude(pk=version.pk)
        .order_by("-version")
        .select_related(None)  # only the few fields the select shows, not the profiles
        .only("id", "version", "status", "dataset_id")[:200]
    )


def profile_charts(version: DatasetVersion) -> list[dict[str, Any]]:
    """The profile reshaped for static/js/datasets.js: one entry per chartable column, at most
    MAX_CHARTS, in schema order. Numeric columns carry their histogram, string columns their
    most frequent values; the script draws them, escaping every name."""
    profile = version.profile or {}
    types = {
        col.get("name"): col.get("type") for col in version.schema or [] if isinstance(col, dict)
    }
    order = [name for name in types if name in profile] or list(profile)
    charts: list[dict[str, Any]] = []
    for name in order[:MAX_CHARTS]:
        stats = profile.get(name) or {}
        chart: dict[str, Any] = {"name": name, "type": types.get(name) or stats.get("type", "")}
        histogram = stats.get("histogram")
        top = stats.get("top")
        if isinstance(histogram, dict) and histogram.get("counts"):
            chart["histogram"] = {
                "edges": histogram.get("edges", []),
                "counts": histogram["counts"],
            }
        elif isinstance(top, list) and top:
            chart["top"] = [
                {"value": str(item.get("value")), "count": item.get("count", 0)}
                for item in top
                if isinstance(item, dict)
            ]
        charts.append(chart)
    return charts


def schema_rows(version: DatasetVersion) -> list[dict[str, Any]]:
    """Each schema column with the profile numbers the schema table shows next to it."""
    profile = version.profile or {}
    rows = []
    for column in version.schema or []:
        stats = profile.get(column.get("name")) or {}
        fraction = stats.get("missing_fraction")
        rows.append(
            {
                **column,
                "missing_pct": None if fraction is None else fraction * 100,
                "distinct": stats.get("distinct"),
                "distinct_approx": stats.get("distinct_approx", False),
                "min": short_number(stats.get("min")),
                "max": short_number(stats.get("max")),
                "mean": short_number(stats.get("mean")),
            }
        )
    return rows


def validation_rows(version: DatasetVersion) -> list[dict[str, Any]]:
    """The stored results, with the rule kind as people read it ("Minimum", not "min")."""
    labels = dict(RuleKind.choices)
    return [
        {**result, "kind_label": labels.get(result.get("kind"), result.get("kind"))}
        for result in version.validation or []
        if isinstance(result, dict)
    ]


def short_number(value: Any) -> Any:
    """Six significant digits for floats (a mean of 0.30000000000000004 reads as 0.3)."""
    return f"{value:.6g}" if isinstance(value, float) else value


def for_display(diff: dict[str, Any]) -> dict[str, Any]:
    """Add each shift's numbers as short text, the missing fraction in percent (templates can
    neither multiply nor drop trailing zeros)."""
    for shift in diff.get("shifts", []):
        for key, scale in (("mean", 1), ("missing_fraction", 100)):
            change = shift.get(key)
            shift[f"{key}_text"] = (
                {
                    "from": f"{change['from'] * scale:.6g}",
                    "to": f"{change['to'] * scale:.6g}",
                    "delta": f"{change['delta'] * scale:+.4g}" if change["delta"] else "",
                }
                if change
                else None
            )
    return diff
