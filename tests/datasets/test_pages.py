"""The dataset pages: list, create, detail with rules, version page, status partial, diff."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.core.models import AuditEvent
from apps.datasets import services
from apps.datasets.api.serializers import ValidationRuleSerializer
from apps.datasets.models import Dataset, DatasetVersion, ValidationRule, VersionStatus

pytestmark = pytest.mark.django_db

POLLING = 'hx-trigger="every 2s"'

SCHEMA_V1 = [
    {"name": "age", "type": "integer", "nullable": False},
    {"name": "city", "type": "string", "nullable": True},
    {"name": "score", "type": "integer", "nullable": False},
    {"name": "<i>odd</i>", "type": "string", "nullable": False},
]
PROFILE_V1 = {
    "age": {
        "count": 3, "missing": 0, "missing_fraction": 0.0, "distinct": 3,
        "min": 20, "max": 40, "mean": 30.0, "std": 10.0,
        "histogram": {"edges": [20.0, 30.0, 40.0], "counts": [1, 2]},
    },
    "city": {
        "count": 2, "missing": 1, "missing_fraction": 1 / 3, "distinct": 2,
        "top": [{"value": "Oslo", "count": 1}, {"value": "<b>Rome</b>", "count": 1}],
    },
    "score": {
        "count": 3, "missing": 0, "missing_fraction": 0.0, "distinct": 2,
        "min": 1, "max": 2, "mean": 1.5, "histogram": {"edges": [1.0, 1.5, 2.0], "counts": [2, 1]},
    },
    "<i>odd</i>": {
        "count": 3, "missing": 0, "missing_fraction": 0.0, "distinct": 1,
        "top": [{"value": "x", "count": 3}],
    },
}  # fmt: skip
SCHEMA_V2 = [
    {"name": "age", "type": "integer", "nullable": True},
    {"name": "score", "type": "float", "nullable": False},
    {"name": "label", "type": "boolean", "nullable": False},
]
PROFILE_V2 = {
    "age": {**PROFILE_V1["age"], "mean": 32.5, "missing": 1, "missing_fraction": 0.25},
    "score": {**PROFILE_V1["score"], "mean": 1.75},
    "label": {
        "count": 4, "missing": 0, "missing_fraction": 0.0, "distinct": 2,
        "top": [{"value": True, "count": 3}, {"value": False, "count": 1}],
    },
}  # fmt: skip
VALIDATION = [
    {
        "kind": "not_null", "column": "age", "params": {}, "passed": True,
        "failed_count": 0, "sample": [], "message": "No missing values in 'age'.",
    },
    {
        "kind": "min", "column": "age", "params": {"value": 25}, "passed": False,
        "failed_count": 1, "sample": [20], "message": "1 value of 'age' is below 25.",
    },
]  # fmt: skip


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _dataset(world, name: str = "churn", project=None, actor=None) -> Dataset:
    return services.dataset_create(
        actor=actor or world.users["alice"], project=project or world.alpha, name=name
    )


def _version(dataset: Dataset, number: int, status: str = VersionStatus.READY, **fields):
    schema = fields.pop("schema", SCHEMA_V1)
    defaults = {
        "content_hash": f"{dataset.pk:08x}{number:056x}",
        "size_bytes": 1234,
        "format": "csv",
        "filename": f"v{number}.csv",
        "created_by": dataset.owner,
        "schema": schema,
        "profile": PROFILE_V1,
        "validation": [],
    }
    if status == VersionStatus.READY:
        defaults |= {"row_count": 3, "column_count": len(schema), "validation_passed": True}
    return DatasetVersion.objects.create(
        dataset=dataset, version=number, status=status, **(defaults | fields)
    )


# --- list -------------------------------------------------------------------------------------


def test_list_shows_my_datasets_filtered_by_project_and_name(world):
    _dataset(world, "churn")
    _dataset(world, "fraud-events")
    _dataset(world, "beta-secret", project=world.beta, actor=world.users["eve"])
    client = _client(world.users["alice"])

    html = client.get("/datasets/").content.decode()
    assert "churn" in html and "fraud-events" in html and "beta-secret" not in html

    html = client.get("/datasets/", {"q": "FRAUD"}).content.decode()
    assert "fraud-events" in html and "churn" not in html

    html = client.get("/datasets/", {"project": "alpha", "q": "nothing-like-it"}).content.decode()
    assert "No datasets match" in html

    root = _client(world.users["root"])
    html = root.get("/datasets/", {"project": "beta"}).content.decode()
    assert "beta-secret" in html and "churn" not in html

    # htmx asks for the results only.
    partial = client.get("/datasets/", {"q": "churn"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and "churn" in partial.content.decode()


def test_list_query_count_does_not_grow_with_datasets(world):
    client = _client(world.users["alice"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/datasets/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        _version(_dataset(world, f"small-{i}"), 1)
    small = queries()
    for i in range(10):
        _version(_dataset(world, f"more-{i}"), 1)
    assert queries() == small


# --- create -----------------------------------------------------------------------------------


def test_contributor_creates_a_dataset_from_the_page(world):
    client = _client(world.users["carl"])
    form = client.get("/datasets/new/").content.decode()
    assert 'value="alpha"' in form and 'value="beta"' not in form

    response = client.post(
        "/datasets/new/", {"project": "alpha", "name": "churn", "description": "Monthly churn."}
    )
    dataset = Dataset.objects.get(name="churn")
    assert response.status_code == 302 and response["Location"] == f"/datasets/{dataset.pk}/"
    assert dataset.project == world.alpha and dataset.owner == world.users["carl"]
    assert AuditEvent.objects.filter(action="dataset.create", object_id=str(dataset.pk)).exists()


def test_bad_create_form_shows_field_errors_and_stores_nothing(world):
    _dataset(world, "churn")
    client = _client(world.users["alice"])

    html = client.post("/datasets/new/", {"project": "alpha", "name": ""}).content.decode()
    assert "This field is required" in html

    duplicate = client.post("/datasets/new/", {"project": "alpha", "name": "churn"})
    assert duplicate.status_code == 200
    assert "already has a dataset" in duplicate.content.decode()

    # A project the user is not in is no choice at all (and gives nothing away).
    foreign = client.post("/datasets/new/", {"project": "beta", "name": "x"}).content.decode()
    assert "Select a valid choice" in foreign
    assert list(Dataset.objects.values_list("name", flat=True)) == ["churn"]


def test_viewer_cannot_create(world):
    client = _client(world.users["vera"])
    assert "needs the contributor role" in client.get("/datasets/new/").content.decode()
    assert client.post("/datasets/new/", {"project": "alpha", "name": "x"}).status_code == 403
    assert "New dataset" not in client.get("/datasets/").content.decode()
    assert not Dataset.objects.exists()


def test_html_in_names_is_escaped_everywhere(world):
    client = _client(world.users["alice"])
    client.post("/datasets/new/", {"project": "alpha", "name": "<b>x</b>"})
    dataset = Dataset.objects.get()
    version = _version(dataset, 1, note="<script>alert(1)</script>")
    pages = {
        "list": client.get("/datasets/"),
        "detail": client.get(f"/datasets/{dataset.pk}/"),
        "version": client.get(f"/dataset-versions/{version.pk}/"),
    }
    for name, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, name
        assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html, name
    version_html = pages["version"].content.decode()
    assert "<script>alert(1)" not in version_html
    # Column and category names too, in the table and in the chart data.
    assert "<i>odd</i>" not in version_html and "&lt;i&gt;odd&lt;/i&gt;" in version_html
    assert "<b>Rome</b>" not in version_html


# --- permissions --------------------------------------------------------------------------------


def test_strangers_get_404_everywhere(world):
    dataset = _dataset(world)
    version = _version(dataset, 1)
    rule = services.validation_rule_create(
        actor=world.users["alice"], dataset=dataset, kind="not_null", column="age"
    )
    client = _client(world.users["eve"])
    for url in (
        f"/datasets/{dataset.pk}/",
        f"/dataset-versions/{version.pk}/",
        f"/dataset-versions/{version.pk}/status/",
        f"/dataset-versions/{version.pk}/diff/?base={version.pk}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/datasets/{dataset.pk}/rules/", {"kind": "unique"}).status_code == 404
    assert client.post(f"/datasets/{dataset.pk}/rules/{rule.pk}/delete/").status_code == 404
    assert "churn" not in client.get("/datasets/").content.decode()


def test_viewer_reads_but_cannot_change(world):
    dataset = _dataset(world)
    rule = services.validation_rule_create(
        actor=world.users["alice"], dataset=dataset, kind="not_null", column="age"
    )
    client = _client(world.users["vera"])
    html = client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert "Not null" in html  # the rule, read-only
    assert "data-upload" not in html and "Add rule" not in html and "Delete" not in html

    url = f"/datasets/{dataset.pk}/rules/"
    assert client.post(url, {"kind": "unique", "column": "id"}).status_code == 403
    assert client.post(f"{url}{rule.pk}/delete/").status_code == 403
    assert list(ValidationRule.objects.all()) == [rule]


def test_contributor_sees_the_upload_widget_pointing_at_the_api(world):
    dataset = _dataset(world)
    html = _client(world.users["carl"]).get(f"/datasets/{dataset.pk}/").content.decode()
    assert f'data-upload-url="/api/v1/datasets/{dataset.pk}/versions/"' in html
    assert 'data-version-url="/dataset-versions/{id}/"' in html
    assert 'type="file"' in html and "js/datasets.js" in html


# --- rules ------------------------------------------------------------------------------------


def test_rules_are_added_and_deleted_from_the_page(world):
    dataset = _dataset(world)
    client = _client(world.users["carl"])
    url = f"/datasets/{dataset.pk}/rules/"

    response = client.post(url, {"kind": "min", "column": "age", "params": '{"value": 18}'})
    assert response.status_code == 302
    rule = ValidationRule.objects.get()
    assert (rule.kind, rule.column, rule.params) == ("min", "age", {"value": 18})
    assert rule.created_by == world.users["carl"]

    html = client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert "Minimum" in html and "&quot;value&quot;: 18" in html

    client.post(f"{url}{rule.pk}/delete/")
    assert not ValidationRule.objects.exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="validation_rule.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["validation_rule.create", "validation_rule.delete"]


def test_bad_rules_show_the_same_messages_as_the_api(world):
    dataset = _dataset(world)
    client = _client(world.users["carl"])
    url = f"/datasets/{dataset.pk}/rules/"

    api = ValidationRuleSerializer(
        data={"dataset": dataset.pk, "kind": "min", "column": "age", "params": {}},
        context={"request": type("R", (), {"user": world.users["carl"]})()},
    )
    assert not api.is_valid()
    expected = str(api.errors["params"][0])

    html = client.post(url, {"kind": "min", "column": "age", "params": "{}"}).content.decode()
    assert expected.replace("'", "&#x27;") in html

    html = client.post(url, {"kind": "unique", "column": ""}).content.decode()
    assert "A unique rule needs a column." in html

    html = client.post(url, {"kind": "min", "column": "a", "params": "{value: 1"}).content.decode()
    assert "Not valid JSON" in html

    html = client.post(url, {"kind": "sometimes", "column": "a"}).content.decode()
    assert "not one of the available choices" in html
    assert not ValidationRule.objects.exists()


# --- version page -----------------------------------------------------------------------------


def test_ready_version_page_shows_schema_charts_validation_and_usage(world):
    dataset = _dataset(world)
    version = _version(dataset, 1, validation=VALIDATION, validation_passed=False)
    html = _client(world.users["vera"]).get(f"/dataset-versions/{version.pk}/").content.decode()

    assert '<table class="schema">' in html
    for column in ("age", "city", "score"):
        assert f"<code>{column}</code>" in html
    assert "33.33 %" in html  # city's missing fraction
    assert "1 value of &#x27;age&#x27; is below 25." in html and "valid-fail" in html
    assert "Not used by any training job yet" in html
    assert "vendor/plotly/plotly.min.js" in html and "cdn" not in html.lower()

    match = re.search(r'<script id="profile-data" type="application/json">(.*?)</script>', html)
    charts = json.loads(match.group(1))
    by_name = {chart["name"]: chart for chart in charts}
    assert by_name["age"]["histogram"] == {"edges": [20.0, 30.0, 40.0], "counts": [1, 2]}
    assert by_name["city"]["top"][1] == {"value": "<b>Rome</b>", "count": 1}
    assert "<b>Rome</b>" not in match.group(1)  # json_script escapes < inside the script
    assert POLLING not in html


def test_charts_stop_at_fifty_columns_with_a_note(world):
    schema = [{"name": f"c{i}", "type": "integer", "nullable": False} for i in range(60)]
    profile = {
        f"c{i}": {"missing_fraction": 0.0, "histogram": {"edges": [0, 1], "counts": [1]}}
        for i in range(60)
    }
    version = _version(_dataset(world), 1, schema=schema, profile=profile)
    html = _client(world.users["alice"]).get(f"/dataset-versions/{version.pk}/").content.decode()
    assert "Showing the first 50 of 60 columns" in html
    charts = json.loads(re.search(r'id="profile-data"[^>]*>(.*?)</script>', html).group(1))
    assert len(charts) == 50
    assert "<code>c59</code>" in html  # the schema table still lists every column


def test_pending_version_polls_and_ready_version_does_not(world):
    dataset = _dataset(world)
    pending = _version(dataset, 1, status=VersionStatus.PENDING)
    client = _client(world.users["alice"])

    page = client.get(f"/dataset-versions/{pending.pk}/").content.decode()
    assert POLLING in page and "Pending" in page and "Not used by any training job" in page
    status = client.get(f"/dataset-versions/{pending.pk}/status/", headers={"HX-Request": "true"})
    assert POLLING in status.content.decode() and "HX-Refresh" not in status
    # The dataset's version table polls too while a version is busy.
    assert POLLING in client.get(f"/datasets/{dataset.pk}/").content.decode()

    DatasetVersion.objects.filter(pk=pending.pk).update(status=VersionStatus.READY)
    done = client.get(f"/dataset-versions/{pending.pk}/status/", headers={"HX-Request": "true"})
    assert POLLING not in done.content.decode() and "Ready" in done.content.decode()
    assert done["HX-Refresh"] == "true"  # reload once to show the schema and charts
    assert POLLING not in client.get(f"/datasets/{dataset.pk}/").content.decode()


def test_failed_version_shows_its_error(world):
    version = _version(
        _dataset(world),
        1,
        status=VersionStatus.FAILED,
        error="Row 7 has 3 fields; the header has 4.",
    )
    html = _client(world.users["alice"]).get(f"/dataset-versions/{version.pk}/").content.decode()
    assert "Processing failed" in html and "Row 7 has 3 fields; the header has 4." in html
    assert POLLING not in html and 'role="alert"' in html


# --- diff ---------------------------------------------------------------------------------------


def test_diff_page_lists_schema_changes_and_shifts(world):
    dataset = _dataset(world)
    v1 = _version(dataset, 1)
    v2 = _version(dataset, 2, schema=SCHEMA_V2, profile=PROFILE_V2)
    client = _client(world.users["vera"])

    response = client.get(f"/dataset-versions/{v2.pk}/diff/", {"base": v1.pk})
    html = response.content.decode()
    assert response.status_code == 200
    added = html[html.index("Added columns") : html.index("Removed columns")]
    removed = html[html.index("Removed columns") : html.index("Type changed")]
    assert "<code>label</code>" in added
    assert "<code>city</code>" in removed and "&lt;i&gt;odd&lt;/i&gt;" in removed
    assert "<code>score</code> integer → <strong>float</strong>" in html
    assert "<code>age</code> not null → <strong>nullable</strong>" in html
    assert "30 → 32.5" in html and "(+2.5)" in html  # age's mean
    assert "0 % → 25 %" in html  # age's missing fraction

    # The version page shows the same diff against the previous version.
    page = client.get(f"/dataset-versions/{v2.pk}/").content.decode()
    assert "Compared with" in page and "<code>score</code> integer → <strong>float</strong>" in page
    first = client.get(f"/dataset-versions/{v1.pk}/").content.decode()
    assert "This is the first version" in first


@pytest.mark.parametrize("base", ["", "abc", "999999", "foreign"])
def test_diff_page_with_a_bad_base_explains(world, base):
    version = _version(_dataset(world), 1)
    if base == "foreign":
        other = _dataset(world, "hidden", project=world.beta, actor=world.users["eve"])
        base = str(_version(other, 1).pk)
    response = _client(world.users["alice"]).get(
        f"/dataset-versions/{version.pk}/diff/", {"base": base}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in html
    assert "Give the id of the version" in html or "that you can see" in html


def test_diff_page_with_a_version_not_ready_says_so(world):
    dataset = _dataset(world)
    v1 = _version(dataset, 1)
    v2 = _version(dataset, 2, status=VersionStatus.PROCESSING)
    client = _client(world.users["alice"])
    response = client.get(f"/dataset-versions/{v2.pk}/diff/", {"base": v1.pk})
    assert response.status_code == 200
    assert "is processing, not ready" in response.content.decode()
    page = client.get(f"/dataset-versions/{v2.pk}/").content.decode()
    assert "Compared with" not in page
