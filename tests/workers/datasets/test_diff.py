"""diff_versions: columns added, removed, retyped, nullability and distribution shifts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.datasets import diff_versions, process_file


def processed(tmp_path: Path, name: str, text: str) -> dict:
    path = tmp_path / name
    path.write_text(text)
    return process_file(path, [])


@pytest.fixture
def versions(tmp_path: Path) -> tuple[dict, dict]:
    base = processed(
        tmp_path,
        "v1.csv",
        "id,amount,city,legacy,note\n"
        "1,10,Paris,x,a\n"
        "2,20,Paris,y,b\n"
        "3,30,London,z,c\n"
        "4,40,Berlin,x,d\n",
    )
    other = processed(
        tmp_path,
        "v2.csv",
        "id,amount,city,note,channel\n"
        "1,10.5,Paris,1,web\n"
        "2,,Rome,2,app\n"
        "3,35.5,Rome,3,web\n"
        "4,44.0,London,4,web\n",
    )
    return base, other


def test_added_removed_and_retyped_columns(versions):
    base, other = versions
    diff = diff_versions(base, other)
    assert diff["added"] == ["channel"]
    assert diff["removed"] == ["legacy"]
    assert diff["type_changed"] == [
        {"column": "amount", "from": "integer", "to": "float"},
        {"column": "note", "from": "string", "to": "integer"},
    ]
    assert diff["nullability_changed"] == [{"column": "amount", "from": False, "to": True}]
    json.dumps(diff, allow_nan=False)


def test_shifts_of_shared_columns(versions):
    base, other = versions
    shifts = {s["column"]: s for s in diff_versions(base, other)["shifts"]}
    assert list(shifts) == ["id", "amount", "city", "note"]  # shared columns, base order

    amount = shifts["amount"]
    assert amount["mean"] == {"from": 25.0, "to": 30.0, "delta": 5.0}  # (10.5+35.5+44)/3
    assert amount["missing_fraction"] == {"from": 0.0, "to": 0.25, "delta": 0.25}
    assert amount["top"] is None  # numbers have no top list

    city = shifts["city"]
    assert city["mean"] is None
    assert city["top"]["from"] == ["Paris", "Berlin", "London"]
    assert city["top"]["to"] == ["Rome", "London", "Paris"]
    assert city["top"]["new"] == ["Rome"]
    assert city["top"]["gone"] == ["Berlin"]

    assert shifts["id"]["mean"]["delta"] == 0.0
    assert shifts["note"]["mean"] is None and shifts["note"]["top"] is None  # string -> number


def test_identical_versions_have_no_differences(versions):
    base, _ = versions
    diff = diff_versions(base, base)
    assert diff["added"] == diff["removed"] == diff["type_changed"] == []
    assert diff["nullability_changed"] == []
    for shift in diff["shifts"]:
        assert shift["missing_fraction"]["delta"] == 0.0
        assert shift["mean"] is None or shift["mean"]["delta"] == 0.0
        assert shift["top"] is None or shift["top"]["new"] == shift["top"]["gone"] == []


def test_high_cardinality_column_has_no_top_shift():
    schema = [{"name": "user", "type": "string", "nullable": False}]
    tracked = {"user": {"missing_fraction": 0.0, "top": [{"value": "a", "count": 3}]}}
    untracked = {"user": {"missing_fraction": 0.1, "top": None, "high_cardinality": True}}
    (shift,) = diff_versions(
        {"schema": schema, "profile": tracked}, {"schema": schema, "profile": untracked}
    )["shifts"]
    assert shift["top"] is None
    assert shift["missing_fraction"] == {"from": 0.0, "to": 0.1, "delta": 0.1}
