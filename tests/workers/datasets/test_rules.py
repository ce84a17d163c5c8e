"""Validation rules: each kind passing and failing, with failed_count and sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.datasets import Limits, process_file

# Several blocks even for these small files, so per-batch bookkeeping is exercised.
SMALL = Limits(block_size=4 << 10)

ROWS = 2_000


@pytest.fixture
def people(tmp_path: Path) -> Path:
    """id unique 1..ROWS; age 18..77 except three negatives; city from a fixed set except two
    typos; email missing in rows 3, 10 and every 500th; joined dates in 2023 and 2024."""
    lines = ["id,age,city,email,joined,score"]
    for row in range(1, ROWS + 1):
        age = {400: -1, 900: -7, 1500: -1}.get(row, 18 + row % 60)
        city = {700: "Pariss", 1800: "Lodnon"}.get(row, ["Paris", "London", "Berlin"][row % 3])
        email = "" if row in (3, 10) or row % 500 == 0 else f"p{row}@example.com"
        joined = f"{2023 + row % 2}-{1 + row % 12:02d}-{1 + row % 28:02d}"
        lines.append(f"{row},{age},{city},{email},{joined},{row / 10}")
    path = tmp_path / "people.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def check(path: Path, kind: str, column: str | None = None, **params) -> dict:
    rule = {"kind": kind, "column": column, "params": params}
    result = process_file(path, [rule], limits=SMALL)
    (outcome,) = result["validation"]
    assert outcome["kind"] == kind and outcome["column"] == column and outcome["params"] == params
    assert result["validation_passed"] is outcome["passed"]
    assert outcome["message"]
    return outcome


def test_no_rules_means_passed(people):
    result = process_file(people, [])
    assert result["validation"] == [] and result["validation_passed"] is True


def test_required_columns(people):
    ok = check(people, "required_columns", columns=["id", "age"])
    assert (ok["passed"], ok["failed_count"], ok["sample"]) == (True, 0, [])
    bad = check(people, "required_columns", columns=["id", "salary", "team"])
    assert (bad["passed"], bad["failed_count"], bad["sample"]) == (False, 2, ["salary", "team"])
    assert "salary" in bad["message"]


def test_column_type(people):
    assert check(people, "column_type", "age", type="integer")["passed"]
    assert check(people, "column_type", "joined", type="datetime")["passed"]
    assert check(people, "column_type", "age", type="float")["passed"]  # integers are floats
    bad = check(people, "column_type", "city", type="integer")
    assert not bad["passed"] and bad["failed_count"] == ROWS
    assert bad["sample"] == ["London", "Berlin", "Paris", "London", "Berlin"]
    assert "string, not integer" in bad["message"]


def test_not_null(people):
    ok = check(people, "not_null", "id")
    assert (ok["passed"], ok["failed_count"], ok["sample"]) == (True, 0, [])
    bad = check(people, "not_null", "email")
    missing_rows = [3, 10, 500, 1000, 1500, 2000]
    assert (bad["passed"], bad["failed_count"]) == (False, len(missing_rows))
    assert bad["sample"] == missing_rows[:5]  # 1-based data rows, across blocks


def test_min(people):
    ok = check(people, "min", "score", value=0)
    assert (ok["passed"], ok["failed_count"]) == (True, 0)
    bad = check(people, "min", "age", value=0)
    assert (bad["passed"], bad["failed_count"], bad["sample"]) == (False, 3, [-1, -7, -1])


def test_max(people):
    ok = check(people, "max", "age", value=77)
    assert (ok["passed"], ok["failed_count"]) == (True, 0)
    bad = check(people, "max", "score", value=199.5)
    assert (bad["passed"], bad["failed_count"]) == (False, 5)
    assert bad["sample"] == [199.6, 199.7, 199.8, 199.9, 200.0]


def test_min_and_max_on_dates(people):
    assert check(people, "min", "joined", value="2023-01-01")["passed"]
    bad = check(people, "max", "joined", value="2023-12-31")
    assert not bad["passed"] and bad["failed_count"] == ROWS // 2  # every odd row is 2024
    assert all(day.startswith("2024-") for day in bad["sample"])


def test_min_on_text_fails_saying_why(people):
    bad = check(people, "min", "city", value=3)
    assert not bad["passed"] and "integer, float or datetime" in bad["message"]


def test_allowed_values(people):
    ok = check(people, "allowed_values", "age", values=[str(v) for v in range(-7, 80)])
    assert ok["passed"]  # text from a form matches integers
    bad = check(people, "allowed_values", "city", values=["Paris", "London", "Berlin"])
    assert (bad["passed"], bad["failed_count"], bad["sample"]) == (False, 2, ["Pariss", "Lodnon"])


def test_unique(people):
    ok = check(people, "unique", "id")
    assert (ok["passed"], ok["failed_count"]) == (True, 0)
    texts = check(people, "unique", "email")
    assert texts["passed"]  # missing values are not duplicates of each other
    bad = check(people, "unique", "city")
    # All but the first occurrence of each of the 5 distinct cities repeat one.
    assert (bad["passed"], bad["failed_count"]) == (False, ROWS - 5)
    assert bad["sample"] == ["London", "Berlin", "Paris"]


def test_unique_across_blocks(tmp_path):
    path = tmp_path / "ids.csv"
    ids = [f"k{i:05d}" for i in range(3_000)] + ["k00007", "k02999", "k00007"]
    path.write_text("key,n\n" + "".join(f"{k},{i}\n" for i, k in enumerate(ids)))
    bad = check(path, "unique", "key")
    assert (bad["passed"], bad["failed_count"], bad["sample"]) == (False, 3, ["k00007", "k02999"])


def test_max_missing_fraction(people):
    ok = check(people, "max_missing_fraction", "email", value=0.01)
    assert (ok["passed"], ok["failed_count"], ok["sample"]) == (True, 0, [])
    bad = check(people, "max_missing_fraction", "email", value=0.001)
    assert (bad["passed"], bad["failed_count"]) == (False, 6)
    assert bad["sample"] == [3, 10, 500, 1000, 1500]
    assert "0.30%" in bad["message"]


def test_row_count_range(people):
    ok = check(people, "row_count_range", min=ROWS, max=None)
    assert (ok["passed"], ok["failed_count"]) == (True, 0)
    few = check(people, "row_count_range", min=ROWS + 10, max=None)
    assert (few["passed"], few["failed_count"], few["sample"]) == (False, 10, [ROWS])
    many = check(people, "row_count_range", min=None, max=ROWS - 1)
    assert (many["passed"], many["failed_count"], many["sample"]) == (False, 1, [ROWS])


@pytest.mark.parametrize(
    "kind", ["not_null", "unique", "min", "max", "allowed_values", "column_type"]
)
def test_rule_on_a_missing_column_fails_saying_so(people, kind):
    bad = check(people, kind, "salary", value=1, values=[1], type="integer")
    assert not bad["passed"]
    assert "'salary' does not exist" in bad["message"]


def test_bad_params_and_unknown_kinds_fail_without_stopping_the_run(people):
    rules = [
        {"kind": "min", "column": "age", "params": {"value": "ten"}},
        {"kind": "no_such_rule", "column": "age", "params": {}},
        {"kind": "max_missing_fraction", "column": "email", "params": {"value": 3}},
        {"kind": "not_null", "column": "id", "params": {}},
    ]
    result = process_file(people, rules)
    passed = [r["passed"] for r in result["validation"]]
    assert passed == [False, False, False, True]
    assert "needs a number" in result["validation"][0]["message"]
    assert "Unknown rule kind" in result["validation"][1]["message"]
    assert result["validation_passed"] is False
    assert result["profile"]["age"]["count"] == ROWS  # the profile is still complete
