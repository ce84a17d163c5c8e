"""Routing per strategy, hot swap of revisions and load failures, with a fake model that
answers "v<version>" (a seam: the model is not what these test)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

from apps.deployments.models import Deployment, PredictionLog
from apps.deployments.serving import routing
from apps.registry.models import Stage
from tests.deployments.conftest import bearer

ROW = {"x1": 1.5, "x2": 2, "colour": "red"}


def predict(client, deployment, token, rows=1, **headers):
    return client.post(
        f"/serve/{deployment.slug}/predict",
        {"instances": [ROW] * rows},
        content_type="application/json",
        **bearer(token),
        **headers,
    )


@pytest.fixture
def two_versions(model_version_factory):
    return model_version_factory(stage=Stage.STAGING), model_version_factory()


@pytest.mark.django_db
def test_canary_sends_its_percentage(client, deployment_factory, two_versions, fake_models,
                                     log_writer, monkeypatch):  # fmt: skip
    monkeypatch.setattr(routing, "rng", random.Random(7))
    stable, candidate = two_versions
    deployment, token = deployment_factory(
        stable=stable, candidate=candidate, strategy="canary", canary_percent=30
    )
    answered = Counter(predict(client, deployment, token).json()["model_version"]
                       for _ in range(1000))  # fmt: skip
    assert 250 <= answered[candidate.version] <= 350, answered
    assert answered[stable.version] + answered[candidate.version] == 1000
    log_writer.flush()
    logged = Counter(PredictionLog.objects.values_list("model_version_id", flat=True))
    assert logged == {stable.pk: answered[stable.version],
                      candidate.pk: answered[candidate.version]}  # fmt: skip


@pytest.mark.django_db
def test_sticky_canary_keeps_each_key_on_one_side(client, deployment_factory, two_versions,
                                                  fake_models, log_writer):  # fmt: skip
    stable, candidate = two_versions
    deployment, token = deployment_factory(
        stable=stable, candidate=candidate, strategy="canary", canary_percent=50,
        sticky_header="X-User",
    )  # fmt: skip
    sides = {}
    for user in range(40):
        seen = {
            predict(client, deployment, token, HTTP_X_USER=f"user-{user}").json()["model_version"]
            for _ in range(3)
        }
        assert len(seen) == 1, f"user-{user} moved between versions"
        sides[user] = seen.pop()
    assert set(sides.values()) == {stable.version, candidate.version}


@pytest.mark.django_db
def test_shadow_answers_with_stable_and_logs_both(client, deployment_factory, two_versions,
                                                  fake_models, log_writer):  # fmt: skip
    stable, candidate = two_versions
    deployment, token = deployment_factory(stable=stable, candidate=candidate, strategy="shadow")
    body = predict(client, deployment, token, rows=2).json()
    assert body["model_version"] == stable.version
    assert body["predictions"] == [f"v{stable.version}"] * 2
    fake_models.fail_predict.add(candidate.pk)
    failing = predict(client, deployment, token)
    assert failing.status_code == 200
    assert failing.json()["predictions"] == [f"v{stable.version}"]
    log_writer.flush()
    rows = PredictionLog.objects.order_by("created_at", "shadow", "row")
    first = [(r.model_version_id, r.shadow, r.output) for r in rows if
             r.request_id == body["request_id"]]  # fmt: skip
    assert sorted(first) == sorted(
        [(stable.pk, False, f"v{stable.version}")] * 2
        + [(candidate.pk, True, f"v{candidate.version}")] * 2
    )
    shadow_failure = rows.get(request_id=failing.json()["request_id"], shadow=True)
    assert "candidate exploded" in shadow_failure.error
    assert shadow_failure.output is None


@pytest.mark.django_db
def test_blue_green_serves_the_candidate(client, deployment_factory, two_versions, fake_models,
                                         log_writer):  # fmt: skip
    stable, candidate = two_versions
    deployment, token = deployment_factory(
        stable=stable, candidate=candidate, strategy="blue_green"
    )
    assert predict(client, deployment, token).json()["model_version"] == candidate.version


@pytest.mark.django_db(transaction=True)
def test_hot_swap_without_failed_requests(client, deployment_factory, two_versions, fake_models,
                                          add_revision, settings, log_writer):  # fmt: skip
    from django.db import connection
    from django.test import Client

    settings.SERVING_REFRESH_SECONDS = 0.05
    stable, candidate = two_versions
    deployment, token = deployment_factory(stable=stable)
    assert predict(client, deployment, token).json()["model_version"] == stable.version
    fake_models.load_seconds = 0.3  # the new model loads slowly, as real ones do
    statuses, versions, stop = Counter(), [], threading.Event()

    def traffic() -> None:
        other = Client()
        try:
            while not stop.is_set():
                response = predict(other, deployment, token)
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    versions.append(response.json()["model_version"])
        finally:
            connection.close()  # this thread's own; the test database is dropped after

    threads = [threading.Thread(target=traffic) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.2)
        add_revision(deployment, stable=candidate)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not versions or versions[-1] != candidate.version):
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert set(statuses) == {200}, statuses
    assert versions[0] == stable.version and versions[-1] == candidate.version
    switch = versions.index(candidate.version)
    # Only a bounded window interleaves threads; after the switch nothing goes back for long.
    assert versions[-20:] == [candidate.version] * 20
    assert switch > 0
    assert fake_models.loads.count(candidate.pk) == 1  # loaded once per process


@pytest.mark.django_db
def test_missing_artifact_keeps_the_last_good_revision(client, deployment_factory, two_versions,
                                                       fake_models, add_revision, settings,
                                                       log_writer):  # fmt: skip
    settings.SERVING_REFRESH_SECONDS = 0
    stable, broken = two_versions
    deployment, token = deployment_factory(stable=stable)
    assert predict(client, deployment, token).status_code == 200
    fake_models.fail_load.add(broken.pk)
    add_revision(deployment, stable=broken)
    for _ in range(5):
        response = predict(client, deployment, token)
        assert response.status_code == 200
        assert response.json()["model_version"] == stable.version
    deployment.refresh_from_db()
    assert f"no artifact for models:/churn/{broken.version}" in deployment.last_error
    assert deployment.last_error_at is not None
    # The artifact comes back: a retry (after the backoff) picks the revision up.
    fake_models.fail_load.clear()
    time.sleep(0.05)
    assert predict(client, deployment, token).json()["model_version"] == broken.version
    deployment.refresh_from_db()
    assert deployment.last_error == ""


@pytest.mark.django_db
def test_nothing_loadable_yet_is_503_not_500(client, deployment_factory, fake_models, log_writer,
                                             model_version_factory):  # fmt: skip
    broken = model_version_factory(stage=Stage.STAGING)
    fake_models.fail_load.add(broken.pk)
    deployment, token = deployment_factory(stable=broken)
    response = predict(client, deployment, token)
    assert response.status_code == 503
    assert "no artifact" in response.json()["detail"]
    assert Deployment.objects.get(pk=deployment.pk).last_error
