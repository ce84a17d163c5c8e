import pytest

from apps.core.models import AuditEvent, Membership, Project, Role

pytestmark = pytest.mark.django_db


def test_creator_becomes_admin(world, api):
    response = api(world.users["vera"]).post(
        "/api/v1/projects/", {"slug": "gamma", "name": "Gamma"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["my_role"] == "admin"
    assert Membership.objects.get(project__slug="gamma").user == world.users["vera"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"slug": "alpha", "name": "Dup"}, "slug"),
        ({"slug": "Bad Slug!", "name": "x"}, "slug"),
        ({"name": "no slug"}, "slug"),
        ({"slug": "ok-slug"}, "name"),
        ({"slug": 12, "name": ["not", "a", "string"]}, "name"),
    ],
)
def test_bad_project_input_names_the_field(world, api, body, field):
    before = Project.objects.count()
    response = api(world.users["alice"]).post("/api/v1/projects/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Project.objects.count() == before


def test_member_changes_are_audited_and_filterable(world, api):
    alice = api(world.users["alice"])
    assert (
        alice.post(
            "/api/v1/projects/alpha/members/", {"username": "eve", "role": "viewer"}, format="json"
        ).status_code
        == 201
    )
    assert (
        alice.patch(
            "/api/v1/projects/alpha/members/eve/", {"role": "reviewer"}, format="json"
        ).status_code
        == 200
    )
    assert alice.delete("/api/v1/projects/alpha/members/eve/").status_code == 204

    events = alice.get(
        "/api/v1/audit-events/", {"project": "alpha", "object_id": "alpha:eve"}
    ).json()["results"]
    assert [e["action"] for e in events] == [
        "membership.remove",
        "membership.change_role",
        "membership.add",
    ]
    assert events[1]["changes"]["role"] == {"from": "viewer", "to": "reviewer"}
    assert all(e["actor"] == "alice" and e["request_id"] for e in events)

    by_action = alice.get("/api/v1/audit-events/", {"action": "membership.change_role"}).json()
    assert by_action["count"] == 1
    by_actor = alice.get("/api/v1/audit-events/", {"actor": "eve"}).json()
    assert by_actor["count"] == 0  # eve acted nowhere in alpha
    future = alice.get("/api/v1/audit-events/", {"since": "2999-01-01T00:00:00Z"}).json()
    assert future["count"] == 0


def test_strangers_do_not_see_other_projects_audit(world, api):
    events = api(world.users["eve"]).get("/api/v1/audit-events/").json()["results"]
    assert events and {e["project"] for e in events} <= {"beta", None}


def test_audit_events_cannot_be_changed_through_the_api(world, api):
    event = AuditEvent.objects.filter(project=world.alpha).first()
    root = api(world.users["root"])
    url = f"/api/v1/audit-events/{event.pk}/"
    assert root.get(url).status_code == 200
    assert root.put(url, {"action": "x"}, format="json").status_code == 405
    assert root.patch(url, {"action": "x"}, format="json").status_code == 405
    assert root.delete(url).status_code == 405
    assert root.post("/api/v1/audit-events/", {"action": "x"}, format="json").status_code == 405
    event.refresh_from_db()
    assert event.action != "x"


def test_audit_events_are_append_only_in_the_model(world):
    event = AuditEvent.objects.first()
    event.action = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().update(action="tampered")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


def test_last_admin_cannot_be_removed_or_demoted(world, api):
    alice = api(world.users["alice"])
    response = alice.patch(
        "/api/v1/projects/alpha/members/alice/", {"role": "viewer"}, format="json"
    )
    assert response.status_code == 400
    assert "admin" in response.json()["role"][0]
    assert alice.delete("/api/v1/projects/alpha/members/alice/").status_code == 400
    assert Membership.objects.get(project=world.alpha, user=world.users["alice"]).role == Role.ADMIN


@pytest.mark.parametrize(
    "body,field",
    [
        ({"username": "ghost", "role": "viewer"}, "username"),
        ({"username": "vera", "role": "viewer"}, "username"),  # already a member
        ({"username": "eve", "role": "owner"}, "role"),
        ({"role": "viewer"}, "username"),
    ],
)
def test_bad_member_input_names_the_field(world, api, body, field):
    before = Membership.objects.count()
    response = api(world.users["alice"]).post(
        "/api/v1/projects/alpha/members/", body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert Membership.objects.count() == before


def test_failed_change_writes_no_audit_event(world, api):
    alice = api(world.users["alice"])
    before = AuditEvent.objects.count()
    alice.post(
        "/api/v1/projects/alpha/members/", {"username": "ghost", "role": "viewer"}, format="json"
    )
    assert AuditEvent.objects.count() == before
