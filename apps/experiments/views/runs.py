"""Runs pages: the table of every MLflow run of the user's projects (portal jobs and external
scripts), sortable by any metric and filtered by status, dataset, template and parameter values;
a run's page; the compare view for 2-10 runs; and "Sync now"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from apps.core import selectors as core_selectors
from apps.datasets.selectors import dataset_list
from apps.experiments.filters import RunFilterForm, parse_ids
from apps.experiments.models import RunStatus
from apps.experiments.selectors import runs as selectors
from apps.experiments.selectors.runs import RunFilters, compare_table
from apps.experiments.services.runs import runs_sync

PAGE_SIZE = 50
METRIC_COLUMNS = 6
MAX_DATASETS = 200
SORTABLE = ("start_time", "name", "status")


@login_required
def run_table(request: HttpRequest) -> HttpResponse:
    form = RunFilterForm(request.GET)
    valid = form.is_valid()
    filters = form.run_filters() if valid else RunFilters()
    runs = selectors.run_search(user=request.user, filters=filters)
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    keys = [k for k in selectors.metric_keys(rows) if not k.startswith("resources/")]
    sort_key = filters.ordering.lstrip("-")
    if sort_key.startswith("metrics.") and sort_key[8:] not in keys[:METRIC_COLUMNS]:
        keys.insert(0, sort_key[8:])  # the sorted-by metric always has its column
    columns = keys[:METRIC_COLUMNS]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": [{"run": r, "values": [r.metrics.get(k) for k in columns]} for r in rows],
        "columns": [
            {"name": k, **_sort_link(query, filters.ordering, f"metrics.{k}")} for k in columns
        ],
        "sorts": {k: _sort_link(query, filters.ordering, k) for k in SORTABLE},
        "query": query.urlencode(),
        "projects": core_selectors.project_list(user=request.user),
        "datasets": dataset_list(user=request.user).select_related("project")[:MAX_DATASETS],
        "statuses": RunStatus.choices,
        "param_filters": [f"{k}:{v}" for k, v in filters.params.items()],
    }  # fmt: skip
    htmx = request.headers.get("HX-Request") == "true"
    template = "experiments/partials/run_results.html" if htmx else "experiments/runs.html"
    response = render(request, template, context, status=200 if valid else 400)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _sort_link(query, current: str, key: str) -> dict[str, str]:
    """The query that sorts by `key` (flipping it when it is the current sort; metrics and
    times start high-to-low, names A to Z) and an arrow for the current sort."""
    q = query.copy()
    if current == f"-{key}":
        q["ordering"], arrow = key, "↓"
    elif current == key:
        q["ordering"], arrow = f"-{key}", "↑"
    else:
        q["ordering"] = key if key in ("name", "status") else f"-{key}"
        arrow = ""
    return {"query": q.urlencode(), "arrow": arrow}


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(selectors.run_list(user=request.user), pk=pk)
    keys = [k for k in selectors.metric_keys([run]) if not k.startswith("resources/")]
    return render(
        request,
        "experiments/run_detail.html",
        {
            "run": run,
            "params": sorted(run.params.items()),
            "metrics": sorted(run.metrics.items()),
            "tags": sorted((k, v) for k, v in run.tags.items() if not k.startswith("mlflow.")),
            "chart": _chart([run], selectors.metric_histories([run], keys)),
        },
    )


@login_required
def run_compare(request: HttpRequest) -> HttpResponse:
    try:
        ids = parse_ids(request.GET.getlist("ids"))
    except ValidationError as error:
        messages.error(request, " ".join(error.detail["ids"]))
        return redirect("runs")
    found = {r.pk: r for r in selectors.run_list(user=request.user).filter(pk__in=ids)}
    runs = [found[i] for i in ids if i in found]
    if len(runs) < 2:
        messages.error(request, "Pick at least 2 runs of your projects to compare.")
        return redirect("runs")
    keys = [k for k in selectors.metric_keys(runs) if not k.startswith("resources/")]
    return render(
        request,
        "experiments/run_compare.html",
        {
            "runs": runs,
            "params": compare_table(runs, "params").items(),
            "metrics": compare_table(runs, "metrics", best=True).items(),
            "chart": _chart(runs, selectors.metric_histories(runs, keys)),
        },
    )


def _chart(runs: list, histories: dict[int, dict[str, list]]) -> dict:
    """What static/js/runs.js draws: one chart per metric with more than one step, a line per
    run."""
    metrics: dict[str, list] = {}
    for run in runs:
        for key, points in histories.get(run.pk, {}).items():
            if len(points) > 1:
                metrics.setdefault(key, []).append(
                    {"run": run.pk, "label": run.name or run.mlflow_run_id[:8], "points": points}
                )
    return {"metrics": dict(sorted(metrics.items()))}


@login_required
@require_POST
def run_sync(request: HttpRequest) -> HttpResponse:
    try:
        result = runs_sync()
    except Exception as error:  # the tracking store may be down; say so instead of a 500
        messages.error(request, f"Could not read the MLflow tracking store: {error}")
    else:
        messages.success(
            request,
            f"Synced {result.runs} run{'s' if result.runs != 1 else ''} from "
            f"{result.experiments} experiment{'s' if result.experiments != 1 else ''}.",
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        back = ""
    return redirect(back or "runs")
