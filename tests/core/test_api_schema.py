import re

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_valid_and_complete(tmp_path):
    out = tmp_path / "schema.yaml"
    # --validate checks against the OpenAPI 3 JSON schema; --fail-on-warn refuses guesses.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in (
        "/api/v1/auth/token/",
        "/api/v1/me/",
        "/api/v1/projects/",
        "/api/v1/projects/{project_slug}/members/",
        "/api/v1/projects/{project_slug}/members/{username}/",
        "/api/v1/audit-events/",
        "/api/v1/jobs/",
        "/api/v1/jobs/{id}/cancel/",
    ):
        assert f"  {path}:" in text, path


def test_schema_is_served_and_swagger_ui_is_offline(world):
    client = Client()
    client.force_login(world.users["vera"])
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert not re.search(r"""(src|href)=["']https?://""", html), "no CDN assets"
    scripts = re.findall(r"""src=["']([^"']+\.js)["']""", html)
    assert scripts
    for src in scripts:
        assert client.get(src).status_code == 200, src
