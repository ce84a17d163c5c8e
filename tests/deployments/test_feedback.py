"""POST /api/v1/predictions/feedback/: labels by (request id, row), for contributors and up,
strangers' request ids counted as unknown."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.deployments.models import PredictionLog

pytestmark = pytest.mark.django_db
URL = "/api/v1/predictions/feedback/"


@pytest.fixture
def logged(deployment_factory, model_version_factory, world):
    """alpha: requests a0..a2 (2 rows each, a1 with a shadow copy); beta: request b0."""
    deployment, _ = deployment_factory()
    beta_version = model_version_factory(project=world.beta, name="beta-model")
    beta_deployment, _ = deployment_factory(stable=beta_version, slug="beta-staging")
    now = timezone.now()

    def row(dep, request_id, i, shadow=False):
        return PredictionLog(
            deployment=dep, revision_id=dep.current_revision_id, model_version_id=1,
            request_id=request_id, row=i, shadow=shadow, inputs={}, output="yes",
            latency_ms=1.0, created_at=now,
        )  # fmt: skip

    rows = [row(deployment, f"a{r}", i) for r in range(3) for i in range(2)]
    rows += [row(deployment, "a1", 0, shadow=True), row(beta_deployment, "b0", 0)]
    PredictionLog.objects.bulk_create(rows)
    return deployment


def labels_of(request_id: str) -> list:
    return list(
        PredictionLog.objects.filter(request_id=request_id)
        .order_by("row", "shadow")
        .values_list("row", "shadow", "label")
    )


def test_contributor_labels_in_bulk(api, world, logged):
    body = {"labels": [
        {"request_id": "a0", "row": 0, "label": "yes"},
        {"request_id": "a0", "row": 1, "label": "no"},
        {"request_id": "a1", "label": 1},  # row defaults to 0
        {"request_id": "a9", "label": "yes"},
        {"request_id": "b0", "label": "yes"},  # beta's: unknown to carl
    ]}  # fmt: skip
    response = api(world.users["carl"]).post(URL, body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"received": 5, "matched": 3, "unknown": 2}
    assert labels_of("a0") == [(0, False, "yes"), (1, False, "no")]
    assert labels_of("a1") == [(0, False, 1), (0, True, 1), (1, False, None)]
    assert labels_of("b0") == [(0, False, None)]
    assert PredictionLog.objects.filter(labelled_at__isnull=False).count() == 4
    event = AuditEvent.objects.get(action="predictions.feedback")
    assert event.object_id == str(logged.pk)
    assert event.changes == {"labelled_rows": 4}


def test_viewer_labels_nothing(api, world, logged):
    body = {"labels": [{"request_id": "a0", "label": "yes"}]}
    response = api(world.users["vera"]).post(URL, body, format="json")
    assert response.status_code == 200
    assert response.json()["matched"] == 0
    assert labels_of("a0")[0][2] is None


def test_anonymous_is_refused(api, logged):
    response = api().post(URL, {"labels": [{"request_id": "a0", "label": 1}]}, format="json")
    assert response.status_code in (401, 403)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "labels"),
        ({"labels": []}, "labels"),
        ({"labels": "a0"}, "labels"),
        ({"labels": [{"label": 1}]}, "request_id"),
        ({"labels": [{"request_id": "a0"}]}, "label"),
        ({"labels": [{"request_id": "a0", "row": -1, "label": 1}]}, "row"),
    ],
)
def test_bad_shapes_are_field_level_400s(api, world, logged, body, field):
    response = api(world.users["carl"]).post(URL, body, format="json")
    assert response.status_code == 400
    detail = response.json()
    text = str(detail)
    assert field in text


def test_at_most_10000_labels(api, world, logged):
    body = {"labels": [{"request_id": f"x{i}", "label": 0} for i in range(10_001)]}
    response = api(world.users["carl"]).post(URL, body, format="json")
    assert response.status_code == 400
    assert "labels" in response.json()
