"""diff_versions: what changed between two processed versions of a dataset."""

from __future__ import annotations


def diff_versions(base: dict, other: dict) -> dict:
    """Compare two process_file results (only their "schema" and "profile" are read).

    Columns are matched by name. `shifts` has one entry per shared column: the change of mean
    (numeric columns on both sides, else None), of missing fraction, and of the top values
    (when both sides have a top list, else None).
    """
    base_cols = {c["name"]: c for c in base.get("schema") or []}
    other_cols = {c["name"]: c for c in other.get("schema") or []}
    shared = [name for name in base_cols if name in other_cols]
    base_profile = base.get("profile") or {}
    other_profile = other.get("profile") or {}
    return {
        "added": [name for name in other_cols if name not in base_cols],
        "removed": [name for name in base_cols if name not in other_cols],
        "type_changed": [
            {"column": n, "from": base_cols[n]["type"], "to": other_cols[n]["type"]}
            for n in shared
            if base_cols[n]["type"] != other_cols[n]["type"]
        ],
        "nullability_changed": [
            {"column": n, "from": base_cols[n]["nullable"], "to": other_cols[n]["nullable"]}
            for n in shared
            if base_cols[n]["nullable"] != other_cols[n]["nullable"]
        ],
        "shifts": [
            _shift(n, base_profile.get(n) or {}, other_profile.get(n) or {}) for n in shared
        ],
    }


def _change(before: float | None, after: float | None) -> dict | None:
    if before is None or after is None:
        return None
    return {"from": before, "to": after, "delta": after - before}


def _shift(column: str, before: dict, after: dict) -> dict:
    top = None
    if before.get("top") is not None and after.get("top") is not None:
        old = [entry["value"] for entry in before["top"]]
        new = [entry["value"] for entry in after["top"]]
        top = {
            "from": old,
            "to": new,
            "new": [v for v in new if v not in old],
            "gone": [v for v in old if v not in new],
        }
    return {
        "column": column,
        "mean": _change(before.get("mean"), after.get("mean")),
        "missing_fraction": _change(
            before.get("missing_fraction", 0.0), after.get("missing_fraction", 0.0)
        ),
        "top": top,
    }
