"""POST /serve/<slug>/predict: auth, lookup and input checking, with a fake model (the model is
not what these test; tests/deployments/test_serving_mlflow.py serves a real one)."""

from __future__ import annotations

import json

import pytest

from apps.deployments.models import PredictionLog
from tests.deployments.conftest import bearer

pytestmark = pytest.mark.django_db

ROW = {"x1": 1.5, "x2": 2, "colour": "red"}


@pytest.fixture
def served(deployment_factory, fake_models, log_writer):
    deployment, token = deployment_factory()
    return deployment, token


def post(client, slug: str, body, token: str | None, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    if token is not None:
        headers |= bearer(token)
    return client.post(f"/serve/{slug}/predict", data, content_type="application/json", **headers)


def test_predicts_and_logs_every_row(client, served, log_writer):
    deployment, token = served
    response = post(client, deployment.slug, {"instances": [ROW, ROW | {"x2": None}]}, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["predictions"] == ["v1", "v1"]
    assert body["model_version"] == deployment.current_revision.stable.version
    assert response["X-Request-Id"] == body["request_id"]
    assert log_writer.flush() == 2
    logged = PredictionLog.objects.filter(request_id=body["request_id"]).order_by("row")
    assert [(r.row, r.output, r.shadow, r.inputs["x2"]) for r in logged] == [
        (0, "v1", False, 2),
        (1, "v1", False, None),
    ]
    assert logged[0].revision_id == deployment.current_revision_id
    assert logged[0].model_version_id == deployment.current_revision.stable_id
    assert logged[0].latency_ms > 0


def test_dataframe_split_form(client, served):
    deployment, token = served
    body = {"dataframe_split": {"columns": ["x1", "x2", "colour"], "data": [[1, 2, "a"]] * 3}}
    response = post(client, deployment.slug, body, token)
    assert response.status_code == 200, response.content
    assert response.json()["predictions"] == ["v1"] * 3


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", "Token abc", "Bearer "],
)
def test_missing_or_wrong_token_is_401(client, served, header):
    deployment, _token = served
    headers = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = post(client, deployment.slug, {"instances": [ROW]}, None, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_user_api_token_is_not_a_serving_token(client, served, world):
    from apps.core.services.tokens import api_token_create

    _, key = api_token_create(user=world.users["alice"])
    assert post(client, served[0].slug, {"instances": [ROW]}, key).status_code == 401


def test_unknown_deployment_is_404(client, served):
    assert post(client, "nope", {"instances": [ROW]}, served[1]).status_code == 404


def test_get_is_405(client, served):
    assert client.get(f"/serve/{served[0].slug}/predict").status_code == 405


@pytest.mark.parametrize(
    "body",
    ["{not json", "[1, 2]", '{"rows": []}', '{"instances": 3}', '{"instances": []}',
     '{"dataframe_split": {"columns": ["x1"], "data": [[1, 2]]}}', b"\xff\xfe"],
)  # fmt: skip
def test_malformed_bodies_are_400(client, served, body):
    deployment, token = served
    response = post(client, deployment.slug, body, token)
    assert response.status_code == 400, response.content
    assert response.json()["detail"]


def test_nan_infinity_strings_missing_and_unknown_columns_are_422(client, served, log_writer):
    deployment, token = served
    body = (
        '{"instances": ['
        '{"x1": NaN, "x2": 1, "colour": "red"},'
        '{"x1": 1, "x2": "seven", "colour": "red"},'
        '{"x1": 1, "colour": "red", "size": 3},'
        '{"x1": Infinity, "x2": 1e999, "colour": 5},'
        '{"x1": true, "x2": 1, "colour": "red"}'
        "]}"
    )
    response = post(client, deployment.slug, body, token)
    assert response.status_code == 422, response.content
    errors = {(e["row"], e["field"]): e["message"] for e in response.json()["errors"]}
    assert set(errors) == {
        (0, "x1"), (1, "x2"), (2, "x2"), (2, "size"), (3, "x1"), (3, "x2"), (3, "colour"),
        (4, "x1"),
    }  # fmt: skip
    assert "finite" in errors[(0, "x1")]
    assert errors[(1, "x2")] == "expected a number, got string"
    assert errors[(2, "x2")] == "missing column"
    assert errors[(2, "size")] == "unknown column"
    assert errors[(3, "colour")] == "expected a string, got number"
    assert errors[(4, "x1")] == "expected a number, got boolean"
    assert len(log_writer) == 0  # nothing was predicted


def test_too_many_rows_is_413(client, served, settings):
    settings.SERVING_MAX_ROWS = 5
    deployment, token = served
    assert post(client, deployment.slug, {"instances": [ROW] * 5}, token).status_code == 200
    response = post(client, deployment.slug, {"instances": [ROW] * 6}, token)
    assert response.status_code == 413
    assert "at most 5" in response.json()["detail"]


def test_deployment_without_revision_is_404(client, served):
    from apps.deployments.models import Deployment

    deployment, token = served
    Deployment.objects.filter(pk=deployment.pk).update(current_revision=None)
    from apps.deployments.serving.cache import serving

    serving.clear()
    assert post(client, deployment.slug, {"instances": [ROW]}, token).status_code == 404


def test_column_types_fall_back_to_the_dataset_schema(model_version_factory):
    from apps.deployments.selectors.serving import input_columns

    signature = {"inputs": [{"name": "x1", "type": "any"}, {"name": "flag", "type": "any"},
                            {"name": "z", "type": "any"}]}  # fmt: skip
    schema = [{"name": "x1", "type": "integer"}, {"name": "flag", "type": "boolean"}]
    kinds = [(c.name, c.kind) for c in input_columns(signature, schema)]
    assert kinds == [("x1", "number"), ("flag", "boolean"), ("z", "any")]
    assert input_columns({}, schema) is None
