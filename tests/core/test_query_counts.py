"""Lists cost a fixed number of queries, however many rows a page holds."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.models import Role
from apps.core.services.jobs import job_create
from apps.core.services.projects import membership_add, project_create

pytestmark = pytest.mark.django_db


def _grow(world, n: int) -> None:
    User = get_user_model()
    alice = world.users["alice"]
    for i in range(n):
        user = User.objects.create_user(f"extra{i}-{User.objects.count()}", password="x")
        membership_add(actor=alice, project=world.alpha, username=user.username, role=Role.VIEWER)
        job_create(project=world.alpha, kind="core.diagnostic.default", actor=alice)
        project_create(creator=alice, slug=f"p{i}-{User.objects.count()}", name="P")


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/projects/",
        "/api/v1/projects/alpha/members/",
        "/api/v1/jobs/",
        "/api/v1/audit-events/",
        "/api/v1/me/",
    ],
)
def test_list_query_count_does_not_grow_with_rows(world, api, url):
    client = api(world.users["alice"])
    client.get(url)  # the first use of a token also records when it was used
    _grow(world, 2)
    small = _queries(client, url)
    _grow(world, 10)
    assert _queries(client, url) == small


@pytest.mark.parametrize("url", ["/", "/audit/"])
def test_page_query_count_does_not_grow_with_rows(world, client, url):
    client.force_login(world.users["alice"])
    _grow(world, 2)
    small = _queries(client, url)
    _grow(world, 10)
    assert _queries(client, url) == small
