from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    """Compact JSON for display (autoescaped by the template like any string)."""
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
