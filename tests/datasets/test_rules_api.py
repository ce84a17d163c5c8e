import pytest

from apps.core.models import AuditEvent
from apps.datasets.models import ValidationRule
from tests.datasets.conftest import process, upload

pytestmark = pytest.mark.django_db

CSV = "id,amount,grade\n1,10,A\n2,20,B\n2,,Z\n"

PASSING_AND_FAILING = [
    # (rule, passes on CSV)
    ({"kind": "required_columns", "params": {"columns": ["id", "amount"]}}, True),
    ({"kind": "required_columns", "params": {"columns": ["id", "missing"]}}, False),
    ({"kind": "column_type", "column": "amount", "params": {"type": "integer"}}, True),
    ({"kind": "column_type", "column": "grade", "params": {"type": "float"}}, False),
    ({"kind": "not_null", "column": "id"}, True),
    ({"kind": "not_null", "column": "amount"}, False),
    ({"kind": "min", "column": "amount", "params": {"value": 10}}, True),
    ({"kind": "min", "column": "amount", "params": {"value": 15}}, False),
    ({"kind": "max", "column": "amount", "params": {"value": 20}}, True),
    ({"kind": "max", "column": "amount", "params": {"value": 19.5}}, False),
    ({"kind": "allowed_values", "column": "grade", "params": {"values": ["A", "B", "Z"]}}, True),
    ({"kind": "allowed_values", "column": "grade", "params": {"values": ["A", "B"]}}, False),
    ({"kind": "unique", "column": "grade"}, True),
    ({"kind": "unique", "column": "id"}, False),
    ({"kind": "max_missing_fraction", "column": "amount", "params": {"value": 0.5}}, True),
    ({"kind": "max_missing_fraction", "column": "amount", "params": {"value": 0.1}}, False),
    ({"kind": "row_count_range", "params": {"min": 1, "max": 3}}, True),
    ({"kind": "row_count_range", "params": {"min": 4}}, False),
]


@pytest.mark.parametrize("rule,passes", PASSING_AND_FAILING)
def test_each_rule_kind_is_evaluated_on_new_versions(world, api, dataset, rule, passes):
    client = api(world.users["carl"])
    created = client.post(
        "/api/v1/validation-rules/", {"dataset": dataset.pk, **rule}, format="json"
    )
    assert created.status_code == 201, created.content
    version = process(upload(client, dataset.pk, CSV).json()["id"])
    assert version.status == "ready"
    assert version.validation_passed is passes
    (result,) = version.validation
    assert result["kind"] == rule["kind"] and result["passed"] is passes
    if not passes:
        assert result["failed_count"] >= 1 and result["message"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"kind": "min", "column": "amount", "params": {}}, "params"),
        ({"kind": "min", "column": "amount", "params": {"value": "ten"}}, "params"),
        ({"kind": "min", "params": {"value": 1}}, "column"),
        ({"kind": "column_type", "column": "a", "params": {"type": "decimal"}}, "params"),
        ({"kind": "max_missing_fraction", "column": "a", "params": {"value": 2}}, "params"),
        ({"kind": "row_count_range", "params": {"min": 5, "max": 1}}, "params"),
        ({"kind": "row_count_range", "params": {}}, "params"),
        ({"kind": "allowed_values", "column": "a", "params": {"values": []}}, "params"),
        ({"kind": "required_columns", "params": {"columns": "id"}}, "params"),
        ({"kind": "teleport", "column": "a"}, "kind"),
        ({"kind": "unique", "column": "a", "params": [1]}, "params"),
    ],
)
def test_bad_rules_are_refused_with_field_messages(world, api, dataset, body, field):
    response = api(world.users["carl"]).post(
        "/api/v1/validation-rules/", {"dataset": dataset.pk, **body}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert ValidationRule.objects.count() == 0


def test_rule_permissions_and_audit(world, api, dataset):
    body = {"dataset": dataset.pk, "kind": "not_null", "column": "id"}
    assert (
        api(world.users["vera"]).post("/api/v1/validation-rules/", body, format="json").status_code
        == 403
    )
    assert (
        api(world.users["eve"]).post("/api/v1/validation-rules/", body, format="json").status_code
        == 400
    )
    carl = api(world.users["carl"])
    rule_id = carl.post("/api/v1/validation-rules/", body, format="json").json()["id"]
    assert api(world.users["eve"]).get(f"/api/v1/validation-rules/{rule_id}/").status_code == 404
    assert (
        api(world.users["vera"]).delete(f"/api/v1/validation-rules/{rule_id}/").status_code == 403
    )
    changed = carl.patch(
        f"/api/v1/validation-rules/{rule_id}/", {"column": "amount"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["column"] == "amount"
    assert carl.delete(f"/api/v1/validation-rules/{rule_id}/").status_code == 204
    actions = list(
        AuditEvent.objects.filter(object_type="datasets.validationrule", object_id=str(rule_id))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "validation_rule.create",
        "validation_rule.update",
        "validation_rule.delete",
    ]


def test_rule_changes_do_not_touch_earlier_versions(world, api, dataset):
    client = api(world.users["carl"])
    version = process(upload(client, dataset.pk, CSV).json()["id"])
    assert version.validation_passed is True
    client.post(
        "/api/v1/validation-rules/",
        {"dataset": dataset.pk, "kind": "not_null", "column": "amount"},
        format="json",
    )
    version.refresh_from_db()
    assert version.validation_passed is True and version.validation == []
