"""Odd input found by fuzzing, kept as plain regressions: each once answered 500."""

import pytest

pytestmark = pytest.mark.django_db


def test_nul_in_a_project_slug_is_a_field_error(world, api):
    response = api(world.users["alice"]).generic(
        "POST",
        "/api/v1/jobs/",
        '{"project": "\\u0000ab", "kind": "core.diagnostic.default"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "project" in response.json()


def test_time_filter_with_an_offset_postgres_cannot_store(world, api):
    response = api(world.users["alice"]).get(
        "/api/v1/audit-events/", {"until": "6179-10-29T05:34:36-21:36"}
    )
    assert response.status_code == 200
    assert response.json()["count"] > 0


def test_unparseable_time_filter_is_a_400(world, api):
    response = api(world.users["alice"]).get("/api/v1/audit-events/", {"since": "yesterday"})
    assert response.status_code == 400
    assert "since" in response.json()


def test_unknown_api_url_answers_json(world, api):
    response = api(world.users["alice"]).get("/api/v1/projects/\u0084/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_unknown_job_kind_lists_the_launchable_ones(world, api):
    response = api(world.users["carl"]).post(
        "/api/v1/jobs/", {"project": "alpha", "kind": "rm -rf"}, format="json"
    )
    assert response.status_code == 400
    assert "kind" in response.json()


def test_wrong_types_in_job_params_are_named(world, api):
    response = api(world.users["carl"]).post(
        "/api/v1/jobs/",
        {"project": "alpha", "kind": "core.diagnostic.default", "params": {"seconds": "soon"}},
        format="json",
    )
    assert response.status_code == 400
    assert "seconds" in response.json()["params"]


def test_params_must_be_an_object(world, api):
    response = api(world.users["carl"]).post(
        "/api/v1/jobs/",
        {"project": "alpha", "kind": "core.diagnostic.default", "params": [1, 2]},
        format="json",
    )
    assert response.status_code == 400
    assert "params" in response.json()
