import pytest
from django.test import Client

from apps.core.models import AuditEvent, Job, Membership, Project, Role

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_create_project_from_the_page(world):
    client = _client(world.users["vera"])
    response = client.post("/projects/", {"slug": "gamma", "name": "Gamma"})
    assert response.status_code == 302 and response["Location"] == "/projects/gamma/"
    assert Membership.objects.get(project__slug="gamma").role == Role.ADMIN


def test_bad_project_form_shows_field_errors_and_stores_nothing(world):
    client = _client(world.users["vera"])
    response = client.post("/projects/", {"slug": "Bad Slug", "name": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Use lowercase letters" in html and "This field is required" in html
    duplicate = client.post("/projects/", {"slug": "alpha", "name": "Again"}, follow=True)
    assert "already exists" in duplicate.content.decode()
    assert Project.objects.count() == 2


@pytest.mark.parametrize(
    "actor,expected", [("alice", 200), ("vera", 200), ("eve", 404), ("root", 200)]
)
def test_project_page_access(world, actor, expected):
    assert _client(world.users[actor]).get("/projects/alpha/").status_code == expected


def test_admin_sees_member_controls_viewer_does_not(world):
    admin_html = _client(world.users["alice"]).get("/projects/alpha/").content.decode()
    viewer_html = _client(world.users["vera"]).get("/projects/alpha/").content.decode()
    assert "Add member" in admin_html and "Add member" not in viewer_html
    assert "gpu queue" in admin_html and "gpu queue" not in viewer_html


@pytest.mark.parametrize("actor,expected", [("rita", 403), ("vera", 403), ("eve", 404)])
def test_member_changes_need_admin(world, actor, expected):
    client = _client(world.users[actor])
    before = list(Membership.objects.values_list("user__username", "role").order_by("id"))
    assert (
        client.post("/projects/alpha/members/", {"username": "eve", "role": "viewer"}).status_code
        == expected
    )
    assert client.post("/projects/alpha/members/vera/", {"role": "admin"}).status_code == expected
    assert (
        client.post("/projects/alpha/members/vera/", {"action": "remove"}).status_code == expected
    )
    assert list(Membership.objects.values_list("user__username", "role").order_by("id")) == before


def test_admin_manages_members_from_the_page_and_it_is_audited(world):
    client = _client(world.users["alice"])
    client.post("/projects/alpha/members/", {"username": "eve", "role": "viewer"})
    client.post("/projects/alpha/members/eve/", {"role": "reviewer"})
    assert Membership.objects.get(project=world.alpha, user__username="eve").role == "reviewer"
    client.post("/projects/alpha/members/eve/", {"action": "remove"})
    assert not Membership.objects.filter(project=world.alpha, user__username="eve").exists()
    actions = list(
        AuditEvent.objects.filter(object_id="alpha:eve")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["membership.add", "membership.change_role", "membership.remove"]


def test_page_errors_are_shown_not_raised(world):
    client = _client(world.users["alice"])
    page = client.post(
        "/projects/alpha/members/", {"username": "ghost", "role": "viewer"}, follow=True
    )
    assert "No active user named" in page.content.decode()
    page = client.post("/projects/alpha/members/alice/", {"role": "viewer"}, follow=True)
    assert "at least one admin" in page.content.decode()
    page = client.post("/projects/alpha/members/vera/", {"role": "owner"}, follow=True)
    assert "not one of the available choices" in page.content.decode()


def test_worker_check_queues_a_job_for_contributors_only(world):
    assert (
        _client(world.users["vera"])
        .post("/projects/alpha/worker-check/", {"queue": "gpu"})
        .status_code
        == 403
    )
    assert Job.objects.count() == 0
    _client(world.users["carl"]).post("/projects/alpha/worker-check/", {"queue": "gpu"})
    assert Job.objects.get().kind == "core.diagnostic.gpu"
    _client(world.users["carl"]).post("/projects/alpha/worker-check/", {"queue": "cpu"})
    assert Job.objects.count() == 1
