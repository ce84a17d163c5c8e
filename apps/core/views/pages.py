from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from apps.core import selectors
from apps.core.dashboard import dashboard as build_dashboard
from apps.core.models.jobs import ACTIVE_STATUSES

SECTIONS = {
    "models": ("Models", "Registered models, versions and promotion requests will live here."),
    "reviews": ("Reviews", "Promotion requests waiting for your review will be listed here."),
    "inbox": ("Inbox", "Requests to review and decisions on your requests will arrive here."),
    "deployments": ("Deployments", "Deployments, revisions and traffic will be shown here."),
}


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The home page: all the user's projects, or one with ?project=SLUG (404 if not theirs)."""
    slug = request.GET.get("project", "").strip()
    board = build_dashboard(user=request.user, project_slug=slug)
    poll_query = urlencode({"project": board.selected.slug}) if board.selected else ""
    context = {
        "board": board,
        "jobs": board.jobs,
        "poll": any(job.status in ACTIVE_STATUSES for job in board.jobs),
        "poll_query": poll_query,
        "events": board.events,
    }
    return render(request, "core/dashboard.html", context)


@login_required
def jobs_partial(request: HttpRequest) -> HttpResponse:
    jobs = selectors.job_list(user=request.user)
    project = request.GET.get("project")
    if project:
        jobs = jobs.filter(project__slug=project)
    jobs = list(jobs[:10])
    active = any(job.status in ACTIVE_STATUSES for job in jobs)
    context = {"jobs": jobs, "poll": active, "poll_query": request.GET.urlencode()}
    return render(request, "core/partials/jobs.html", context)


@login_required
def section(request: HttpRequest, name: str) -> HttpResponse:
    if name not in SECTIONS:
        raise Http404(name)
    title, blurb = SECTIONS[name]
    return render(request, "core/section.html", {"title": title, "blurb": blurb})
