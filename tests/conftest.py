"""One small world of users with different access levels, reused by every test.

project `alpha`: alice admin, rita reviewer, carl contributor, vera viewer
project `beta`:  eve admin (a stranger to alpha)
root is a superuser and a member of nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from apps.core.models import Project, Role
from apps.core.services.projects import membership_add, project_create
from apps.core.services.tokens import api_token_create
from tests.celery_worker import workers  # noqa: F401  (a fixture for every test module)

PASSWORD = "correct-horse-battery"


@dataclass
class World:
    alpha: Project
    beta: Project
    users: dict


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def artifact_root(settings, tmp_path):
    # Every test gets its own artifact store: blobs never leak between tests or into var/.
    settings.ARTIFACT_ROOT = str(tmp_path / "artifacts")
    return tmp_path / "artifacts"


@pytest.fixture(autouse=True)
def mlflow_store(settings, tmp_path):
    # Each test its own tracking store (created only if the test uses it).
    settings.MLFLOW_TRACKING_URI = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings.MLFLOW_ARTIFACT_ROOT = str(tmp_path / "artifacts" / "mlflow")
    return settings.MLFLOW_TRACKING_URI


@pytest.fixture
def world(db) -> World:
    User = get_user_model()
    users = {
        name: User.objects.create_user(name, f"{name}@example.com", PASSWORD)
        for name in ("alice", "rita", "carl", "vera", "eve")
    }
    users["root"] = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    alpha = project_create(creator=users["alice"], slug="alpha", name="Alpha")
    for name, role in (("rita", Role.REVIEWER), ("carl", Role.CONTRIBUTOR), ("vera", Role.VIEWER)):
        membership_add(actor=users["alice"], project=alpha, username=name, role=role)
    beta = project_create(creator=users["eve"], slug="beta", name="Beta")
    return World(alpha=alpha, beta=beta, users=users)


@pytest.fixture
def api():
    """api(user) -> an APIClient sending that user's real API token."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, key = api_token_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def dataset(world):
    """An empty dataset `loans` in alpha, created by carl (a contributor)."""
    from apps.datasets.services import dataset_create

    return dataset_create(actor=world.users["carl"], project=world.alpha, name="loans")
