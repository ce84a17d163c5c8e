import re

import pytest
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = ["/", "/datasets/", "/experiments/", "/models/", "/deployments/", "/monitoring/", "/audit/"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_sign_in(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_navigation_and_no_cdn(world, path):
    client = Client()
    client.force_login(world.users["vera"])
    html = client.get(path).content.decode()
    for label in ("Dashboard", "Datasets", "Experiments", "Models", "Deployments", "Monitoring"):
        assert f">{label}</a>" in html
    assert ">Audit</a>" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)


def test_htmx_and_css_are_served_by_the_portal(world):
    client = Client()
    client.force_login(world.users["vera"])
    html = client.get("/").content.decode()
    for asset in re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", html):
        response = client.get(asset)
        assert response.status_code == 200, asset
    htmx = b"".join(client.get("/static/vendor/htmx/htmx.min.js").streaming_content)
    assert b"htmx" in htmx and len(htmx) > 10_000


def test_login_with_wrong_password_says_so_without_detail(world):
    response = Client().post("/login/", {"username": "vera", "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content


def test_login_and_logout(world):
    client = Client()
    response = client.post("/login/", {"username": "vera", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_audit_page_filters(world):
    client = Client()
    client.force_login(world.users["alice"])
    html = client.get("/audit/", {"action_prefix": "membership."}).content.decode()
    assert "membership.add" in html and "project.create" not in html
    partial = client.get("/audit/", {"actor": "nobody"}, HTTP_HX_REQUEST="true").content.decode()
    assert "No events match" in partial and "<nav" not in partial
    bad = client.get("/audit/", {"since": "not-a-date"})
    assert bad.status_code == 200 and "since" in bad.content.decode()


def test_unknown_section_is_404(world):
    client = Client()
    client.force_login(world.users["vera"])
    assert client.get("/nope/").status_code == 404
