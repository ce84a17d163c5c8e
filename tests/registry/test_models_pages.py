"""The model pages: list with filter, a model's page (versions, card, policies, history with
"what was in production at"), a version's page, the compare page; permissions and query counts
that do not grow with 1,000 versions."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.registry.models import PromotionRequest
from tests.registry.test_models_api import bulk_versions, promote

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_model_list_page(world, model_version_factory):
    model_version_factory(name="churn")
    model_version_factory(name="churn", stage="production")
    model_version_factory(name="fraud", stage="staging")
    model_version_factory(name="beta-model", project=world.beta)
    response = _client(world.users["vera"]).get("/models/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-model="churn"' in html and 'data-model="fraud"' in html
    assert "beta-model" not in html
    churn = html[html.index('data-model="churn"') : html.index('data-model="fraud"')]
    assert re.search(r'data-stage="production"><span class="badge [^"]*">v2<', churn)
    root = _client(world.users["root"]).get("/models/?project=beta").content.decode()
    assert "beta-model" in root and 'data-model="churn"' not in root
    assert _client(world.users["eve"]).get("/models/").content.decode().count("data-model=") == 1
    assert Client().get("/models/").status_code == 302  # to the login page


def test_model_page(world, model_version_factory):
    u = world.users
    v1 = model_version_factory(metrics={"accuracy": 0.81})
    v2 = model_version_factory(metrics={"accuracy": 0.86})
    at = timezone.now() - timedelta(days=3)
    promote(v1, stage="production", at=at, requester=u["carl"], approvers=[u["rita"], u["alice"]])
    response = _client(u["vera"]).get(f"/models/{v1.registered_model_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-version="1"' in html and 'data-version="2"' in html
    assert "0.8600" in html  # the primary metric column
    assert "Save policy for" not in html and "Edit the card" not in html  # a viewer
    assert "Approvals required" in html
    history = html[html.index('id="history"') :]
    assert "carl" in history and "rita, alice" in history
    when = (at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    lookup = _client(u["vera"]).get(f"/models/{v1.registered_model_id}/", {"at": when})
    stages = lookup.content.decode()
    stages = stages[stages.index('id="stages-at"') :]
    assert f'data-stage="production"><a href="/models/versions/{v1.pk}/">v1</a>' in stages
    assert "approved by rita, alice" in stages
    bad = _client(u["vera"]).get(f"/models/{v1.registered_model_id}/", {"at": "soon"})
    assert bad.status_code == 400
    assert _client(u["eve"]).get(f"/models/{v1.registered_model_id}/").status_code == 404
    assert v2.pk  # listed above


def test_version_page(world, model_version_factory):
    version = model_version_factory(validation_passed=True)
    other = model_version_factory()
    PromotionRequest.objects.create(
        model_version=version, target="staging", justification="ready",
        requested_by=world.users["carl"], approvals_required=1,
        expires_at=timezone.now() + timedelta(days=7),
    )  # fmt: skip
    response = _client(world.users["carl"]).get(f"/models/versions/{version.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/training-jobs/{version.training_job_id}/"' in html
    assert f'href="/dataset-versions/{version.dataset_version_id}/"' in html
    assert 'data-validation="passed"' in html
    assert version.mlflow_run_id in html
    assert "<code>x1</code></td><td><code>double</code>" in html  # the signature table
    assert "to <span" in html and "staging</span> by carl" in html  # the open request
    assert f'<option value="{other.pk}">v2</option>' in html  # compare picker
    vera = _client(world.users["vera"]).get(f"/models/versions/{version.pk}/").content.decode()
    assert 'id="request-promotion"' not in vera
    assert _client(world.users["eve"]).get(f"/models/versions/{version.pk}/").status_code == 404


def test_version_page_promotion_button_for_contributors(world, model_version_factory):
    from django.urls import NoReverseMatch, reverse

    version = model_version_factory()
    html = _client(world.users["carl"]).get(f"/models/versions/{version.pk}/").content.decode()
    try:
        url = reverse("promotion-new")
    except NoReverseMatch:  # the promotions pages are not there yet: no button
        assert 'id="request-promotion"' not in html
    else:
        assert f'href="{url}?version={version.pk}"' in html


def test_compare_page(world, model_version_factory):
    signature = {"inputs": [{"name": "x1", "type": "long"}, {"name": "age", "type": "double"}]}
    a = model_version_factory(metrics={"accuracy": 0.8, "f1": 0.7})
    b = model_version_factory(metrics={"accuracy": 0.9, "f1": 0.6}, signature=signature)
    response = _client(world.users["vera"]).get(f"/models/compare/?a={a.pk}&b={b.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    chart = json.loads(re.search(r'id="version-compare"[^>]*>(.*?)</script>', html).group(1))
    assert chart == {
        "labels": ["churn v1", "churn v2"], "metrics": ["accuracy", "f1"],
        "a": [0.8, 0.7], "b": [0.9, 0.6],
    }  # fmt: skip
    assert 'data-input="x1" data-state="changed"' in html
    assert 'data-input="colour" data-state="only_a"' in html
    assert 'data-input="age" data-state="only_b"' in html
    assert "js/registry.js" in html and "vendor/plotly/plotly.min.js" in html
    theirs = model_version_factory(name="beta-model", project=world.beta)
    vera = _client(world.users["vera"])
    assert vera.get(f"/models/compare/?a={a.pk}&b={theirs.pk}").status_code == 404
    assert vera.get("/models/compare/?a=1").status_code == 302  # back to the list, with a message


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_page_query_counts_do_not_grow_with_versions(world, model_version_factory):
    first = model_version_factory(stage="production")
    model_version_factory()
    third = model_version_factory(stage="staging")
    model = first.registered_model
    client = _client(world.users["alice"])
    urls = ["/models/", f"/models/{model.pk}/", f"/models/versions/{third.pk}/"]
    small = [_count(client, url) for url in urls]
    bulk_versions(model, 997, start=4)
    assert [_count(client, url) for url in urls] == small
    html = client.get(f"/models/{model.pk}/").content.decode()
    assert "1000 versions" in html and "Page 1 of 20" in html
