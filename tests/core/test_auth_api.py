import json

import pytest
from rest_framework.test import APIClient

from apps.core.models import ApiToken
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_is_issued_for_good_credentials_and_works(world):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    key = response.json()["token"]
    # Only a hash is stored: the key itself appears nowhere in the table.
    assert not ApiToken.objects.filter(key_hash=key).exists()
    assert ApiToken.objects.filter(user=world.users["alice"]).count() == 1

    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    me = client.get("/api/v1/me/").json()
    assert me["user"]["username"] == "alice"
    assert {(m["project"], m["role"]) for m in me["memberships"]} == {("alpha", "admin")}


@pytest.mark.parametrize("username,password", [("alice", "wrong-password"), ("nobody", PASSWORD)])
def test_bad_credentials_do_not_say_which_part_was_wrong(world, username, password):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Unable to sign in with the provided credentials."]
    }


def test_missing_fields_are_named(db):
    response = APIClient().post("/api/v1/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_missing_and_invalid_tokens_get_401(world):
    assert APIClient().get("/api/v1/me/").status_code == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token mlp_not-a-real-key")
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_malformed_json_is_a_400(world, api):
    response = api(world.users["alice"]).generic(
        "POST", "/api/v1/projects/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_session_auth_needs_csrf(world):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="alice", password=PASSWORD)
    assert client.get("/api/v1/me/").status_code == 200
    body = json.dumps({"slug": "gamma", "name": "Gamma"})
    refused = client.post("/api/v1/projects/", body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    client.get("/")  # a page load sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/v1/projects/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 201, accepted.content


def test_request_id_is_echoed(world, api):
    response = api(world.users["alice"]).get("/api/v1/me/", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
