"""A contributor creates a dataset and uploads versions through the real API, in Chromium.

No Celery worker runs here: uploaded versions stay pending until a test plays the worker's part
with the same services and compute the worker calls.
"""

import hashlib
import re

import pytest

from apps.datasets.models import Dataset, DatasetVersion, VersionStatus
from apps.datasets.services import (
    dataset_create,
    dataset_version_complete,
    dataset_version_start,
)
from tests.conftest import PASSWORD
from workers.datasets import process_file

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CSV = b"id,age,city\n1,20,Oslo\n2,30,Rome\n3,40,\n"


@pytest.fixture(autouse=True)
def _artifact_root(settings, tmp_path):
    # The live server runs in this process: uploaded blobs land in the test's folder.
    settings.ARTIFACT_ROOT = str(tmp_path / "artifacts")


def _sign_in(page, live_server, username: str = "alice") -> None:
    from playwright.sync_api import expect

    page.goto(live_server.url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")


def _choose_and_upload(page, path, note: str = "") -> None:
    from playwright.sync_api import expect

    page.set_input_files("input[type=file][name=file]", str(path))
    expect(page.locator("[data-file-name]")).to_contain_text(path.name)
    if note:
        page.fill("input[name=note]", note)
    page.get_by_role("button", name="Upload version").click()


def test_create_a_dataset_and_upload_a_first_version(world, live_server, page, tmp_path):
    from playwright.sync_api import expect

    _sign_in(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    expect(page.locator("h1")).to_have_text("Datasets")
    expect(page.locator("#dataset-results")).to_contain_text("No datasets yet")

    page.get_by_role("link", name="New dataset").first.click()
    page.select_option("#id_project", "alpha")
    page.fill("#id_name", "customers")
    page.fill("#id_description", "One row per customer.")
    page.get_by_role("button", name="Create dataset").click()
    expect(page.locator("h1")).to_have_text("customers")
    expect(page.locator(".flash")).to_contain_text("Created dataset 'customers'")
    dataset = Dataset.objects.get(name="customers")

    # Hold the request until the test has seen the progress bar (a small file is sent at once).
    seen = {}

    def hold(route) -> None:
        seen["progress"] = page.locator("[data-progress]").is_visible()
        seen["button_disabled"] = page.get_by_role("button", name="Upload version").is_disabled()
        route.continue_()

    page.route(re.compile(r".*/api/v1/datasets/\d+/versions/$"), hold)
    csv = tmp_path / "customers.csv"
    csv.write_bytes(CSV)
    _choose_and_upload(page, csv, note="first export")

    expect(page).to_have_url(re.compile(r"/dataset-versions/\d+/$"))
    assert seen == {"progress": True, "button_disabled": True}
    version = DatasetVersion.objects.get(dataset=dataset)
    assert version.content_hash == hashlib.sha256(CSV).hexdigest()
    assert (version.version, version.filename, version.note) == (1, "customers.csv", "first export")
    assert version.created_by.username == "alice"
    assert page.url == f"{live_server.url}/dataset-versions/{version.pk}/"
    expect(page.locator("h1")).to_contain_text("customers v1")
    status = page.locator("#version-status")
    expect(status).to_contain_text("Pending")
    expect(status).to_have_attribute("hx-trigger", "every 2s")  # htmx polls while pending
    expect(page.locator("main")).to_contain_text(version.content_hash)
    expect(page.locator("#used-by")).to_contain_text("Not used by any training job yet")
    page.screenshot(path=str(tmp_path / "version-pending.png"), full_page=True)

    # Play the worker's part: the polling page follows, then reloads once to show the results.
    dataset_version_start(version_id=version.pk)
    expect(status).to_contain_text("Processing")
    dataset_version_complete(version_id=version.pk, result=process_file(csv, []))
    expect(page.locator("#schema")).to_contain_text("city")
    expect(page.locator("#version-status")).not_to_have_attribute("hx-trigger", "every 2s")
    expect(page.locator("[data-profile-charts] figure.chart")).to_have_count(3)

    page.get_by_role("link", name="customers").click()
    row = page.locator("#versions tr[data-version='1']")
    expect(row).to_contain_text("Ready")
    expect(row).to_contain_text("3")  # rows
    expect(row).to_contain_text(version.content_hash[:12])
    expect(row).to_contain_text("alice")


def test_uploading_the_same_content_again_says_which_version_has_it(
    world, live_server, page, tmp_path
):
    from playwright.sync_api import expect

    dataset = dataset_create(actor=world.users["alice"], project=world.alpha, name="customers")
    csv = tmp_path / "customers.csv"
    csv.write_bytes(CSV)
    _sign_in(page, live_server)

    page.goto(f"{live_server.url}/datasets/{dataset.pk}/")
    _choose_and_upload(page, csv)
    expect(page).to_have_url(re.compile(r"/dataset-versions/\d+/$"))
    first = DatasetVersion.objects.get(dataset=dataset)
    assert first.status == VersionStatus.PENDING

    page.goto(f"{live_server.url}/datasets/{dataset.pk}/")
    _choose_and_upload(page, csv)
    errors = page.locator("[data-upload-errors]")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text("This content already exists as version 1.")
    assert "{" not in errors.inner_text()  # a sentence, not a JSON dump
    expect(page).to_have_url(f"{live_server.url}/datasets/{dataset.pk}/")
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1
    page.screenshot(path=str(tmp_path / "duplicate.png"), full_page=True)

    errors.get_by_role("link", name="Open version 1").click()
    expect(page).to_have_url(f"{live_server.url}/dataset-versions/{first.pk}/")


def _processed_version(dataset, number: int, text: str, folder, rules=()) -> DatasetVersion:
    """A version as a worker leaves it: the real compute's result stored by the real service."""
    data = text.encode()
    version = DatasetVersion.objects.create(
        dataset=dataset,
        version=number,
        status=VersionStatus.PROCESSING,
        content_hash=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        format="csv",
        filename=f"export-{number}.csv",
        created_by=dataset.owner,
    )
    path = folder / f"{number}.csv"
    path.write_bytes(data)
    result = process_file(path, list(rules))
    return dataset_version_complete(version_id=version.pk, result=result)


def test_version_page_draws_the_profile_and_the_changes(world, live_server, page, tmp_path):
    from playwright.sync_api import expect

    alice = world.users["alice"]
    dataset = dataset_create(actor=alice, project=world.alpha, name="customers")
    rows = "\n".join(
        f"{i},{20 + i % 50},{['Oslo', 'Rome', '<b>Lima</b>'][i % 3]}" for i in range(300)
    )
    rules = [
        {"kind": "not_null", "column": "city", "params": {}},
        {"kind": "min", "column": "age", "params": {"value": 30}},
    ]
    v1 = _processed_version(dataset, 1, "id,age,city\n" + rows + "\n", tmp_path, rules)
    more = "\n".join(f"{i},{25.5 + i % 40},{i % 2},{i}" for i in range(400))
    v2 = _processed_version(dataset, 2, "id,age,<i>flag</i>,score\n" + more + "\n", tmp_path)
    DatasetVersion.objects.create(
        dataset=dataset, version=3, status=VersionStatus.FAILED, content_hash="f" * 64,
        size_bytes=10, format="csv", filename="broken.csv", created_by=alice,
        error="Row 7 has 3 fields; the header has 4.",
    )  # fmt: skip
    _sign_in(page, live_server)

    page.goto(f"{live_server.url}/datasets/")
    expect(page.locator("#dataset-results")).to_contain_text("customers")
    page.screenshot(path=str(tmp_path / "list.png"), full_page=True)
    page.locator("input[name=q]").press_sequentially("zzz")  # htmx searches as one types
    expect(page.locator("#dataset-results")).to_contain_text("No datasets match")
    expect(page).to_have_url(re.compile(r"q=zzz"))
    page.locator("input[name=q]").fill("")
    page.select_option("select[name=project]", "alpha")
    expect(page.locator("#dataset-results")).to_contain_text("customers")
    page.goto(f"{live_server.url}/datasets/{dataset.pk}/")
    expect(page.locator("#versions tr[data-version='3']")).to_contain_text("Failed")
    expect(page.locator("#versions tr[data-version='1']")).to_contain_text("failed")  # min rule
    page.screenshot(path=str(tmp_path / "detail.png"), full_page=True)

    page.goto(f"{live_server.url}/dataset-versions/{v1.pk}/")
    charts = page.locator("[data-profile-charts] figure.chart")
    expect(charts).to_have_count(3)
    expect(charts.locator(".main-svg").first).to_be_visible()  # Plotly drew
    city = charts.filter(has_text="city")
    expect(city.locator(".ytick")).to_contain_text(["<b>Lima</b>"])  # shown literally, escaped
    expect(page.locator("#validation")).to_contain_text("age")
    page.screenshot(path=str(tmp_path / "version.png"), full_page=True)

    page.goto(f"{live_server.url}/dataset-versions/{v2.pk}/")
    changes = page.locator("#changes")
    expect(changes).to_contain_text("<i>flag</i>")
    expect(changes).to_contain_text("integer → float")
    expect(page.locator("figcaption").filter(has_text="<i>flag</i>")).to_have_count(1)
    page.get_by_role("link", name="Open the full diff").click()
    expect(page.locator("h1")).to_have_text("Schema changes: v1 → v2")
    page.screenshot(path=str(tmp_path / "diff.png"), full_page=True)
    assert page.evaluate("document.querySelectorAll('b, i').length") == 0
