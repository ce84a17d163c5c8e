"""Shared by the model pages: lookups that apply the project rules of apps.core (non-members
get 404, members whose role is too low 403), and the parts of the model and version pages that
are the same (card with its history)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse

from apps.core.models import Project, Role
from apps.core.permissions import has_role
from apps.registry.forms import CardForm
from apps.registry.models import CARD_SECTIONS, ModelVersion, RegisteredModel
from apps.registry.selectors import models as selectors


def require_page_role(request: HttpRequest, project: Project, role: str) -> None:
    if not has_role(request.user, project, role):
        raise PermissionDenied(f"This needs the {role} role in project '{project.slug}'.")


def model_for(request: HttpRequest, pk: int, role: str = Role.VIEWER) -> RegisteredModel:
    model = get_object_or_404(selectors.registered_model_list(user=request.user), pk=pk)
    require_page_role(request, model.project, role)
    return model


def version_for(request: HttpRequest, pk: int, role: str = Role.VIEWER) -> ModelVersion:
    version = get_object_or_404(selectors.model_version_list(user=request.user), pk=pk)
    require_page_role(request, version.registered_model.project, role)
    return version


def url_or_empty(name: str, *args: Any) -> str:
    """Pages of other parts of the registry may not exist yet: hide their links, don't fail."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def card_context(
    request: HttpRequest, obj: RegisteredModel | ModelVersion, project: Project, form=None
) -> dict[str, Any]:
    editable = has_role(request.user, project, Role.CONTRIBUTOR)
    card = obj.card or {}
    return {
        "card_sections": [
            {"key": key, "label": label, "text": card.get(key, "")}
            for key, label in CARD_SECTIONS.items()
        ],
        "card_empty": not any((card.get(key) or "").strip() for key in CARD_SECTIONS),
        "card_form": (form or CardForm(card=card)) if editable else None,
        "card_history": selectors.card_history(obj=obj),
        "card_object_type": obj._meta.label_lower,
        "card_object_id": obj.pk,
        "card_action": reverse(
            "model-version-card" if isinstance(obj, ModelVersion) else "model-card", args=[obj.pk]
        ),
    }
