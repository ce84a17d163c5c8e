"""Deployment test data, written straight with the ORM (no services), and serving seams.

`deployment_factory(**kwargs) -> (Deployment, token)`: a deployment of a registered model with
one revision, and its serving token (only the sha256 is stored, as the token service does).

kwargs (all optional):
    stable      a ModelVersion (default: a new version of model "churn", stage staging)
    candidate   a ModelVersion or None
    strategy    "direct" (default) | "canary" | "shadow" | "blue_green"
    canary_percent, sticky_header   as on Revision
    slug        default "churn-staging"
    environment default "staging"

`add_revision(deployment, **kwargs) -> Revision`: the next revision (same kwargs as above but
`stable` is required), made current.

`fake_models`: the serving cache's loader replaced by one that answers "v<version>" per row
(no MLflow); `fake_models.fail_load` / `fake_models.fail_predict` are sets of ModelVersion ids
that fail to load or to predict; `load_seconds` makes each load that slow. The cache starts
empty, with a 10 ms retry backoff.

`log_writer`: the prediction log writer replaced by one that never flushes on its own; call
`log_writer.flush()` to write the buffer (from the test's thread and connection).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field

import pytest

from apps.deployments import predlog
from apps.deployments.models import Deployment, Revision
from apps.deployments.serving.cache import serving
from apps.deployments.serving.loader import LoadedModel
from apps.registry.models import Stage
from tests.registry.conftest import model_version_factory  # noqa: F401


def _revision(deployment: Deployment, *, stable, candidate=None, strategy: str = "direct",
              canary_percent: int = 0, sticky_header: str = "", action: str = "deploy",
              ) -> Revision:  # fmt: skip
    last = deployment.revisions.order_by("-number").values_list("number", flat=True).first()
    revision = Revision.objects.create(
        deployment=deployment, number=(last or 0) + 1, strategy=strategy, stable=stable,
        candidate=candidate, canary_percent=canary_percent, sticky_header=sticky_header,
        action=action,
    )  # fmt: skip
    Deployment.objects.filter(pk=deployment.pk).update(current_revision=revision)
    deployment.current_revision = revision
    return revision


@pytest.fixture
def add_revision():
    return _revision


@pytest.fixture
def deployment_factory(world, model_version_factory):  # noqa: F811
    def make(*, stable=None, slug: str = "churn-staging", environment: str = "staging",
             **revision) -> tuple[Deployment, str]:  # fmt: skip
        stable = stable or model_version_factory(stage=Stage.STAGING)
        token = secrets.token_urlsafe(24)
        deployment = Deployment.objects.create(
            project=stable.registered_model.project, registered_model=stable.registered_model,
            environment=environment, slug=slug,
            token_hash=hashlib.sha256(token.encode()).hexdigest(), token_hint=token[-4:],
        )  # fmt: skip
        _revision(deployment, stable=stable, **revision)
        return deployment, token

    return make


@dataclass
class FakeModels:
    fail_load: set = field(default_factory=set)
    fail_predict: set = field(default_factory=set)
    loads: list = field(default_factory=list)
    load_seconds: float = 0.0

    def load(self, ref) -> LoadedModel:
        self.loads.append(ref.id)
        time.sleep(self.load_seconds)
        if ref.id in self.fail_load:
            raise FileNotFoundError(f"no artifact for {ref.uri}")

        def predict(frame, ref=ref):
            if ref.id in self.fail_predict:
                raise RuntimeError("candidate exploded")
            return [f"v{ref.number}"] * len(frame)

        return LoadedModel(version=ref, predict_fn=predict, example=None)


@pytest.fixture
def fake_models(monkeypatch):
    fake = FakeModels()
    serving.clear()
    monkeypatch.setattr(serving.models, "loader", fake.load)
    monkeypatch.setattr(serving, "backoff", 0.01)
    yield fake
    serving.clear()


@pytest.fixture
def log_writer(monkeypatch):
    writer = predlog.PredictionLogWriter(flush_seconds=3600, batch=10**9)
    monkeypatch.setattr(predlog, "writer", writer)
    return writer


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
