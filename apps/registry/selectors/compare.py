"""Two model versions side by side: metrics with their differences, signature differences."""

from __future__ import annotations

import math
from typing import Any

from apps.registry.models import ModelVersion
from apps.registry.selectors.policies import default_direction


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def metric_rows(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per metric of either version: both values, b - a, and which one is better
    (by the metric's usual direction: loss, rmse, mae and errors are better low)."""
    rows = []
    for name in sorted(set(a or {}) | set(b or {})):
        va, vb = _number((a or {}).get(name)), _number((b or {}).get(name))
        diff = vb - va if va is not None and vb is not None else None
        direction = default_direction(name)
        better = None
        if diff:
            better = "b" if (diff > 0) == (direction == "max") else "a"
        rows.append(
            {"name": name, "a": va, "b": vb, "diff": diff, "direction": direction, "better": better}
        )
    return rows


def _inputs(signature: dict[str, Any]) -> dict[str, str]:
    inputs = (signature or {}).get("inputs") or []
    return {str(i.get("name")): str(i.get("type", "")) for i in inputs if isinstance(i, dict)}


def signature_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Inputs only in a, only in b, and those whose type changed; `same` when none differ."""
    ia, ib = _inputs(a), _inputs(b)
    only_a = [{"name": n, "type": t} for n, t in ia.items() if n not in ib]
    only_b = [{"name": n, "type": t} for n, t in ib.items() if n not in ia]
    changed = [{"name": n, "a": ia[n], "b": ib[n]} for n in ia if n in ib and ia[n] != ib[n]]
    return {
        "only_in_a": only_a,
        "only_in_b": only_b,
        "type_changed": changed,
        "same": not (only_a or only_b or changed),
    }


def version_compare(a: ModelVersion, b: ModelVersion) -> dict[str, Any]:
    return {
        "metrics": metric_rows(a.metrics, b.metrics),
        "signature": signature_diff(a.signature, b.signature),
    }


def signature_rows(a: ModelVersion, b: ModelVersion) -> list[dict[str, Any]]:
    """Every input of either version, in a's order then b's new ones, for the compare page."""
    ia, ib = _inputs(a.signature), _inputs(b.signature)
    names = list(ia) + [n for n in ib if n not in ia]
    rows = []
    for name in names:
        ta, tb = ia.get(name), ib.get(name)
        if ta == tb:
            state = "same"
        else:
            state = "only_a" if tb is None else "only_b" if ta is None else "changed"
        rows.append({"name": name, "a": ta, "b": tb, "state": state})
    return rows
