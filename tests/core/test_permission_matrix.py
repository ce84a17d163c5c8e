"""Who may do what, for every role and for a stranger (eve, admin of another project)."""

import pytest

from apps.core.services.jobs import job_create

pytestmark = pytest.mark.django_db

ACTORS = ["alice", "rita", "carl", "vera", "eve", "root"]  # admin, reviewer, contributor, viewer


def _job(world):
    return job_create(
        project=world.alpha, kind="core.diagnostic.default", actor=world.users["carl"]
    )


CASES = {
    # name: (method, path, body, expected status per actor in ACTORS order)
    "read project": ("get", "/api/v1/projects/alpha/", None, [200, 200, 200, 200, 404, 200]),
    "read members": (
        "get", "/api/v1/projects/alpha/members/", None, [200, 200, 200, 200, 404, 200]
    ),
    "read job": ("get", "/api/v1/jobs/{job}/", None, [200, 200, 200, 200, 404, 200]),
    "create job": (
        "post",
        "/api/v1/jobs/",
        {"project": "alpha", "kind": "core.diagnostic.default", "params": {"seconds": 0}},
        # a stranger's body names a project that, for them, does not exist
        [201, 201, 201, 403, 400, 201],
    ),
    "cancel job": ("post", "/api/v1/jobs/{job}/cancel/", {}, [200, 200, 200, 403, 404, 200]),
    "update project": (
        "patch", "/api/v1/projects/alpha/", {"name": "Renamed"}, [200, 403, 403, 403, 404, 200]
    ),
    "add member": (
        "post",
        "/api/v1/projects/alpha/members/",
        {"username": "eve", "role": "viewer"},
        [201, 403, 403, 403, 404, 201],
    ),
    "change member": (
        "patch",
        "/api/v1/projects/alpha/members/vera/",
        {"role": "contributor"},
        [200, 403, 403, 403, 404, 200],
    ),
    "remove member": (
        "delete", "/api/v1/projects/alpha/members/vera/", None, [204, 403, 403, 403, 404, 204]
    ),
}  # fmt: skip


@pytest.mark.parametrize("actor_index,actor", list(enumerate(ACTORS)))
@pytest.mark.parametrize("case", list(CASES))
def test_permission_matrix(world, api, case, actor_index, actor):
    method, path, body, expected = CASES[case]
    job = _job(world)
    client = api(world.users[actor])
    response = getattr(client, method)(path.format(job=job.pk), body, format="json")
    assert response.status_code == expected[actor_index], (case, actor, response.content)


def test_lists_show_only_member_projects(world, api):
    _job(world)
    eve = api(world.users["eve"])
    assert [p["slug"] for p in eve.get("/api/v1/projects/").json()["results"]] == ["beta"]
    assert eve.get("/api/v1/jobs/").json()["count"] == 0
    vera = api(world.users["vera"])
    assert vera.get("/api/v1/jobs/").json()["count"] == 1
    assert vera.get("/api/v1/projects/alpha/").json()["my_role"] == "viewer"
    root = api(world.users["root"])
    assert {p["slug"] for p in root.get("/api/v1/projects/").json()["results"]} == {
        "alpha",
        "beta",
    }


def test_unknown_project_slug_is_404(world, api):
    client = api(world.users["alice"])
    assert client.get("/api/v1/projects/nope/").status_code == 404
    assert client.get("/api/v1/projects/nope/members/").status_code == 404
    response = client.post("/api/v1/projects/nope/members/", {"username": "vera", "role": "viewer"})
    assert response.status_code == 404


def test_too_low_role_is_told_what_is_needed(world, api):
    response = api(world.users["vera"]).post(
        "/api/v1/projects/alpha/members/", {"username": "eve", "role": "viewer"}, format="json"
    )
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]
