import pytest

from apps.core.models import AuditEvent
from apps.datasets import storage
from apps.datasets.models import Dataset, DatasetVersion
from tests.datasets.conftest import process, sha, upload

pytestmark = pytest.mark.django_db

CSV = "id,amount,grade,approved\n1,10.5,A,true\n2,,B,false\n3,7.25,A,true\n"


def test_contributor_creates_a_dataset(world, api):
    response = api(world.users["carl"]).post(
        "/api/v1/datasets/",
        {"project": "alpha", "name": "<b>loans</b>", "description": "d"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["project"], body["name"], body["owner"]) == ("alpha", "<b>loans</b>", "carl")
    assert AuditEvent.objects.filter(action="dataset.create", object_id=str(body["id"])).exists()


@pytest.mark.parametrize(
    "actor,body,expected",
    [
        ("vera", {"project": "alpha", "name": "x"}, 403),
        ("eve", {"project": "alpha", "name": "x"}, 400),
        ("carl", {"project": "alpha"}, 400),
        ("carl", {"project": "nope", "name": "x"}, 400),
    ],
)
def test_dataset_create_refusals(world, api, actor, body, expected):
    response = api(world.users[actor]).post("/api/v1/datasets/", body, format="json")
    assert response.status_code == expected
    assert Dataset.objects.count() == 0


def test_dataset_names_are_unique_per_project(world, api, dataset):
    response = api(world.users["carl"]).post(
        "/api/v1/datasets/", {"project": "alpha", "name": "loans"}, format="json"
    )
    assert response.status_code == 400 and "name" in response.json()
    other = api(world.users["eve"]).post(
        "/api/v1/datasets/", {"project": "beta", "name": "loans"}, format="json"
    )
    assert other.status_code == 201


def test_list_filters_and_search(world, api, dataset):
    client = api(world.users["vera"])
    assert client.get("/api/v1/datasets/", {"project": "alpha"}).json()["count"] == 1
    assert client.get("/api/v1/datasets/", {"search": "loa"}).json()["count"] == 1
    assert client.get("/api/v1/datasets/", {"search": "zzz"}).json()["count"] == 0
    assert api(world.users["eve"]).get("/api/v1/datasets/").json()["count"] == 0


def test_upload_stores_a_content_addressed_blob_and_queues_processing(world, api, dataset):
    response = upload(api(world.users["carl"]), dataset.pk, CSV, note="first")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["status"], body["format"]) == (1, "pending", "csv")
    assert body["content_hash"] == sha(CSV) and body["size_bytes"] == len(CSV)
    assert storage.blob_path(sha(CSV)).read_bytes() == CSV.encode()
    assert body["job"] is not None
    assert not list(storage.tmp_dir().iterdir()), "no temp file left behind"

    second = upload(api(world.users["carl"]), dataset.pk, CSV + "4,1.0,C,false\n")
    assert second.status_code == 201 and second.json()["version"] == 2


def test_identical_bytes_are_one_blob(world, api, dataset):
    client = api(world.users["carl"])
    assert upload(client, dataset.pk, CSV).status_code == 201
    again = upload(client, dataset.pk, CSV)
    assert again.status_code == 409
    assert again.json()["detail"] == "This content already exists as version 1."
    first = DatasetVersion.objects.get(dataset=dataset)
    assert (again.json()["version"], again.json()["id"]) == (1, first.pk)
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1

    other = client.post("/api/v1/datasets/", {"project": "alpha", "name": "copy"}, format="json")
    assert upload(client, other.json()["id"], CSV).status_code == 201
    blobs = [p for p in (storage.root() / "blobs").rglob("*") if p.is_file()]
    assert blobs == [storage.blob_path(sha(CSV))]


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "not"),
    ],
)
def test_unreadable_files_are_refused_at_upload(world, api, dataset, data, message):
    response = upload(api(world.users["carl"]), dataset.pk, data, name="image.csv")
    assert response.status_code == 400
    assert message in response.json()["file"][0].lower()
    assert DatasetVersion.objects.count() == 0
    assert not list(storage.tmp_dir().iterdir())


def test_missing_file_field_is_named(world, api, dataset):
    response = api(world.users["carl"]).post(
        f"/api/v1/datasets/{dataset.pk}/versions/", {"note": "x"}, format="multipart"
    )
    assert response.status_code == 400 and "file" in response.json()


def test_oversized_upload_is_413_and_leaves_nothing(world, api, dataset, settings):
    client = api(world.users["carl"])
    assert upload(client, dataset.pk, CSV).status_code == 201
    settings.MAX_UPLOAD_BYTES = 1000
    big = "id,x\n" + "".join(f"{i},{i * 2}\n" for i in range(400))
    response = upload(client, dataset.pk, big)
    assert response.status_code == 413
    assert "limit" in response.json()["file"][0]
    assert DatasetVersion.objects.filter(dataset=dataset).count() == 1
    assert not storage.blob_path(sha(big)).exists()
    assert not list(storage.tmp_dir().iterdir())
    assert storage.blob_path(sha(CSV)).exists(), "earlier versions untouched"


def test_upload_permissions(world, api, dataset):
    assert upload(api(world.users["vera"]), dataset.pk, CSV).status_code == 403
    assert upload(api(world.users["eve"]), dataset.pk, CSV).status_code == 404
    assert DatasetVersion.objects.count() == 0


def test_processing_fills_schema_profile_and_validation(world, api, dataset):
    client = api(world.users["carl"])
    client.post(
        "/api/v1/validation-rules/",
        {"dataset": dataset.pk, "kind": "not_null", "column": "amount"},
        format="json",
    )
    version_id = upload(client, dataset.pk, CSV).json()["id"]
    version = process(version_id)
    assert version.status == "ready", version.error
    assert version.row_count == 3
    schema = {c["name"]: (c["type"], c["nullable"]) for c in version.schema}
    assert schema == {
        "id": ("integer", False),
        "amount": ("float", True),
        "grade": ("string", False),
        "approved": ("boolean", False),
    }
    assert version.profile["amount"]["missing"] == 1
    assert version.validation_passed is False
    assert version.validation[0]["failed_count"] == 1

    body = client.get(f"/api/v1/dataset-versions/{version_id}/").json()
    expected_keys = {
        "version", "status", "content_hash", "size_bytes", "row_count", "schema", "profile",
        "validation", "validation_passed", "created_by", "created_at",
    }  # fmt: skip
    assert expected_keys <= set(body)
    actions = set(
        AuditEvent.objects.filter(
            object_id=str(version_id), object_type="datasets.datasetversion"
        ).values_list("action", flat=True)
    )
    assert actions == {
        "dataset_version.create",
        "dataset_version.processing",
        "dataset_version.ready",
    }


@pytest.mark.parametrize(
    "data,reason",
    [
        ("a,b\n1,2\n3,4,5\n", "field"),
        (b"a,b\n1,2\n" + "caf\u00e9,3\n".encode("latin-1"), "utf"),
        ("a,a\n1,2\n", "unique"),
        ("a,\n1,2\n", "empty"),
        ("a,b\n", "no data"),
    ],
)
def test_bad_files_end_as_failed_versions_with_a_reason(world, api, dataset, data, reason):
    client = api(world.users["carl"])
    version_id = upload(client, dataset.pk, data).json()["id"]
    version = process(version_id)
    assert version.status == "failed"
    assert reason in version.error.lower(), version.error
    body = client.get(f"/api/v1/dataset-versions/{version_id}/").json()
    assert body["status"] == "failed" and body["error"] == version.error
    assert version.job.status == "failed"


def test_a_type_change_halfway_fails_readably(world, api, dataset, settings):
    # Small blocks so the type is inferred from the start and the change arrives later, as in
    # a large file.
    settings.DATASET_BLOCK_SIZE = 4096
    data = "n\n" + "".join(f"{i}\n" for i in range(5000)) + "abc\n"
    version = process(upload(api(world.users["carl"]), dataset.pk, data).json()["id"])
    assert version.status == "failed"
    assert "abc" in version.error and "'n'" in version.error, version.error


def test_ten_thousand_columns_fail_with_the_limit(world, api, dataset):
    header = ",".join(f"c{i}" for i in range(10_000))
    data = header + "\n" + ",".join("1" for _ in range(10_000)) + "\n"
    version = process(upload(api(world.users["carl"]), dataset.pk, data).json()["id"])
    assert version.status == "failed"
    assert "10000" in version.error.replace(",", "") and "2000" in version.error.replace(",", "")


def test_download_streams_the_original_bytes(world, api, dataset):
    client = api(world.users["vera"])
    version_id = upload(api(world.users["carl"]), dataset.pk, CSV).json()["id"]
    response = client.get(f"/api/v1/dataset-versions/{version_id}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CSV.encode()
    assert response["X-Content-SHA256"] == sha(CSV)


def test_corrupted_blob_is_reported_not_served(world, api, dataset):
    version_id = upload(api(world.users["carl"]), dataset.pk, CSV).json()["id"]
    path = storage.blob_path(sha(CSV))
    path.chmod(0o644)
    path.write_bytes(CSV.replace("10.5", "99.9").encode())
    response = api(world.users["vera"]).get(f"/api/v1/dataset-versions/{version_id}/download/")
    assert response.status_code == 409
    assert "corrupted" in response.json()["detail"]
    assert AuditEvent.objects.filter(action="dataset_version.blob_unreadable").exists()


def test_diff_between_versions(world, api, dataset):
    client = api(world.users["carl"])
    v1 = process(upload(client, dataset.pk, CSV).json()["id"])
    changed = "id,amount,grade,region\n1,10.5,A,north\n2,3.0,C,south\n3,7.25,A,north\n"
    v2 = process(upload(client, dataset.pk, changed).json()["id"])
    body = client.get(f"/api/v1/dataset-versions/{v2.pk}/diff/", {"base": v1.pk}).json()
    assert body["added"] == ["region"] and body["removed"] == ["approved"]
    assert {n["column"] for n in body["nullability_changed"]} == {"amount"}
    assert body["base"]["version"] == 1 and body["other"]["version"] == 2
    bad = client.get(f"/api/v1/dataset-versions/{v2.pk}/diff/", {"base": "x"})
    assert bad.status_code == 400 and "base" in bad.json()
    hidden = client.get(f"/api/v1/dataset-versions/{v2.pk}/diff/", {"base": 999999})
    assert hidden.status_code == 400


def test_versions_of_strangers_are_404(world, api, dataset):
    version_id = upload(api(world.users["carl"]), dataset.pk, CSV).json()["id"]
    eve = api(world.users["eve"])
    assert eve.get(f"/api/v1/dataset-versions/{version_id}/").status_code == 404
    assert eve.get(f"/api/v1/dataset-versions/{version_id}/download/").status_code == 404
    assert eve.get(f"/api/v1/datasets/{dataset.pk}/versions/").status_code == 404
