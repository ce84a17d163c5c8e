"""Dataset pages: the list, creating a dataset, a dataset's versions, upload and rules.

Uploads do not pass through these views: static/js/datasets.js posts the file to the REST
endpoint with the browser session, so the page and API clients share one upload path (streaming,
hashing, size limit, duplicate detection).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from apps.core import selectors as core_selectors
from apps.core.models import Role
from apps.core.permissions import has_role
from apps.datasets import selectors, services
from apps.datasets.api.serializers import ValidationRuleSerializer
from apps.datasets.forms import PARAMS_HINTS, DatasetForm, DatasetSearchForm, ValidationRuleForm
from apps.datasets.models import Dataset
from apps.datasets.views.common import (
    ACTIVE_VERSION_STATUSES,
    add_api_errors,
    can_contribute,
    dataset_for,
    projects_open_to,
)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


@login_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    search = DatasetSearchForm(request.GET)
    datasets = search.filter(selectors.dataset_list(user=request.user))
    page = Paginator(datasets, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "search": search,
        "page": page,
        "query": query.urlencode(),
        "projects": core_selectors.project_list(user=request.user),
        "can_create": projects_open_to(request, Role.CONTRIBUTOR).exists(),
    }
    # The filter form swaps only the results in (htmx); a plain GET renders the whole page.
    template = "datasets/partials/dataset_table.html" if _is_htmx(request) else "datasets/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def dataset_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        _refuse_members_below_contributor(request)
    projects = projects_open_to(request, Role.CONTRIBUTOR)
    form = DatasetForm(
        request.POST or None,
        projects=projects,
        initial={"project": request.GET.get("project")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            dataset = services.dataset_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_api_errors(form, exc.detail)
        else:
            messages.success(request, f"Created dataset '{dataset.name}'. Upload a first version.")
            return redirect("dataset-detail", pk=dataset.pk)
    return render(
        request, "datasets/create.html", {"form": form, "has_projects": projects.exists()}
    )


def _refuse_members_below_contributor(request: HttpRequest) -> None:
    """A viewer naming their own project gets 403, as the API answers. Projects the user is not
    in stay out of the form's choices, so naming one is an ordinary field error ("not one of
    the available choices"): it must not reveal that the project exists."""
    slug = request.POST.get("project", "")
    if not slug or "\x00" in slug:
        return
    project = core_selectors.project_list(user=request.user).filter(slug=slug).first()
    if project is not None and not has_role(request.user, project, Role.CONTRIBUTOR):
        raise PermissionDenied(f"Creating datasets needs the contributor role in '{slug}'.")


@login_required
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = dataset_for(request, pk)
    if _is_htmx(request):
        # The versions table polls itself while a version is being processed.
        response = render(
            request, "datasets/partials/version_table.html", _versions_context(request, dataset)
        )
        patch_vary_headers(response, ["HX-Request"])
        return response
    return _render_detail(request, dataset, ValidationRuleForm())


def _versions_context(request: HttpRequest, dataset: Dataset) -> dict:
    versions = (
        selectors.dataset_version_list(user=request.user)
        .filter(dataset=dataset)
        .order_by("-version")
    )
    page = Paginator(versions, 25).get_page(request.GET.get("page"))
    return {
        "dataset": dataset,
        "versions_page": page,
        "versions_poll": any(v.status in ACTIVE_VERSION_STATUSES for v in page.object_list),
    }


def _render_detail(
    request: HttpRequest, dataset: Dataset, rule_form: ValidationRuleForm
) -> HttpResponse:
    editable = can_contribute(request, dataset)
    rules = selectors.validation_rule_list(user=request.user).filter(dataset=dataset)
    version_url = reverse("dataset-version-detail", args=[0])
    context = {
        **_versions_context(request, dataset),
        "can_contribute": editable,
        "rules": rules,
        "rule_form": rule_form,
        "params_hints": {str(kind): hint for kind, hint in PARAMS_HINTS.items()},
        "upload_url": reverse("dataset-versions", args=[dataset.pk]),
        # datasets.js swaps "{id}" for the new version's id to go to its page after upload.
        "version_url_template": version_url.replace("/0/", "/{id}/"),
    }
    return render(request, "datasets/detail.html", context)


@login_required
@require_POST
def rule_add(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = dataset_for(request, pk, Role.CONTRIBUTOR)
    form = ValidationRuleForm(request.POST)
    if form.is_valid():
        # The API's serializer checks the params, so the page and the API give the same messages.
        data = ValidationRuleSerializer(
            data={"dataset": dataset.pk, **form.cleaned_data}, context={"request": request}
        )
        if data.is_valid():
            fields = {k: v for k, v in data.validated_data.items() if k != "dataset"}
            rule = services.validation_rule_create(actor=request.user, dataset=dataset, **fields)
            messages.success(
                request, f"Added rule {rule}. It applies to versions uploaded from now on."
            )
            return redirect(reverse("dataset-detail", args=[dataset.pk]) + "#rules")
        add_api_errors(form, data.errors)
    return _render_detail(request, dataset, form)


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    dataset = dataset_for(request, pk, Role.CONTRIBUTOR)
    rule = get_object_or_404(
        selectors.validation_rule_list(user=request.user).filter(dataset=dataset), pk=rule_pk
    )
    services.validation_rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"Deleted rule {rule}.")
    return redirect(reverse("dataset-detail", args=[dataset.pk]) + "#rules")
