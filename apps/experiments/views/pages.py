"""The Experiments page: the user's experiments with their job counts, and a runs table of
training jobs filtered by project, experiment and status, sorted by a few columns."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from apps.core import selectors as core_selectors
from apps.core.models import Role
from apps.datasets.views.common import projects_open_to
from apps.experiments import selectors
from apps.experiments.forms import SORTS, TrainingJobFilterForm
from apps.experiments.views.common import LIST_DEFERRED, primary_metric, short

MAX_EXPERIMENTS = 100


@login_required
def experiment_list(request: HttpRequest) -> HttpResponse:
    filters = TrainingJobFilterForm(request.GET)
    jobs = filters.filter_jobs(selectors.training_job_list(user=request.user).defer(*LIST_DEFERRED))
    page = Paginator(jobs, 50).get_page(request.GET.get("page"))
    experiments = filters.filter_experiments(selectors.experiment_list(user=request.user))
    experiments = list(experiments[: MAX_EXPERIMENTS + 1])
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "rows": [_row(t) for t in page.object_list],
        "experiments": experiments[:MAX_EXPERIMENTS],
        "more_experiments": len(experiments) > MAX_EXPERIMENTS,
        "query": query.urlencode(),
        "sorts": _sort_links(query, filters.sort_key()),
        "projects": core_selectors.project_list(user=request.user),
        "statuses": filters.fields["status"].choices,
        "can_launch": projects_open_to(request, Role.CONTRIBUTOR).exists(),
        "filtered": any(request.GET.get(k) for k in ("project", "experiment", "status")),
    }
    # The filter form swaps only the results in (htmx); a plain GET renders the whole page.
    htmx = request.headers.get("HX-Request") == "true"
    template = "experiments/partials/results.html" if htmx else "experiments/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _row(training) -> dict:
    name, value = primary_metric(training)
    return {"training": training, "metric": name, "value": None if value is None else short(value)}


def _sort_links(query, current: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the query that sorts by it (the other direction when it is the
    current sort; newest first and A to Z otherwise) and an arrow for the current one."""
    links = {}
    for key in SORTS:
        q = query.copy()
        if current == f"-{key}":
            q["sort"], arrow = key, "↓"
        elif current == key:
            q["sort"], arrow = f"-{key}", "↑"
        else:
            q["sort"], arrow = ("-created" if key == "created" else key), ""
        links[key] = {"query": q.urlencode(), "arrow": arrow}
    return links
