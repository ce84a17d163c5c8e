"""Model cards: markdown per section, on a registered model and on each version. The audit
trail is the card's version history: every update records each changed section's before and
after."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.exceptions import ValidationError

from apps.core.services.audit import audit_record
from apps.registry.models import CARD_SECTIONS, ModelVersion, RegisteredModel

MAX_SECTION_CHARS = 20_000


def card_validate(sections: dict[str, object]) -> dict[str, str]:
    """Field-level errors for unknown sections, non-text and oversized values."""
    errors: dict[str, list[str]] = {}
    known = ", ".join(CARD_SECTIONS)
    for key, value in sections.items():
        if key not in CARD_SECTIONS:
            errors[key] = [f"Unknown card section '{key}'; the sections are {known}."]
        elif not isinstance(value, str):
            errors[key] = ["Markdown text expected."]
        elif len(value) > MAX_SECTION_CHARS:
            errors[key] = [f"At most {MAX_SECTION_CHARS} characters."]
    if errors:
        raise ValidationError(errors)
    return {key: str(value) for key, value in sections.items()}


def card_update(
    *,
    actor: AbstractBaseUser,
    obj: RegisteredModel | ModelVersion,
    sections: dict[str, object],
) -> RegisteredModel | ModelVersion:
    """Replace the given sections (an empty text removes one); others stay as they are."""
    sections = card_validate(sections)
    with transaction.atomic():
        # Locked so that two editors of different sections both keep their change.
        row = type(obj).objects.select_for_update().get(pk=obj.pk)
        card = dict(row.card or {})
        changes = {}
        for key, text in sections.items():
            before = card.get(key, "")
            if text.strip() == before.strip():
                continue
            changes[key] = {"before": before, "after": text}
            if text.strip():
                card[key] = text
            else:
                card.pop(key, None)
        if changes:
            row.card = card
            row.save(update_fields=["card"])
            if isinstance(row, ModelVersion):
                action, project = "model_version.card_update", row.registered_model.project
            else:
                action, project = "model.card_update", row.project
            audit_record(actor=actor, action=action, obj=row, project=project, changes=changes)
    obj.card = row.card
    return obj
