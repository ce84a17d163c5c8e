"""The compose file stays consistent with the settings (Docker's engine does not run here)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
SETTINGS_VARS = set(
    re.findall(r'env_\w+\(\s*"([A-Z_]+)"', (ROOT / "portal" / "settings.py").read_text())
)


def test_all_services_are_there():
    assert set(COMPOSE["services"]) >= {
        "web", "worker", "gpu-worker", "beat", "postgres", "redis", "mlflow"
    }  # fmt: skip


def test_portal_services_set_only_variables_the_settings_read():
    for name in ("web", "worker", "gpu-worker", "beat", "migrate"):
        env = COMPOSE["services"][name]["environment"]
        assert set(env) <= SETTINGS_VARS, (name, set(env) - SETTINGS_VARS)
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        assert env["MLFLOW_TRACKING_URI"].startswith("http://mlflow:")


def _queues(service: str) -> str:
    command = COMPOSE["services"][service]["command"]
    return command[command.index("-Q") + 1]


def test_each_worker_consumes_its_queue_and_the_gpu_worker_gets_a_gpu():
    assert _queues("worker") == "default"
    assert _queues("gpu-worker") == "gpu"
    devices = COMPOSE["services"]["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    beat = COMPOSE["services"]["beat"]["command"]
    assert "django_celery_beat.schedulers:DatabaseScheduler" in beat


def test_mlflow_server_stores_on_postgres():
    command = COMPOSE["services"]["mlflow"]["command"]
    store = command[command.index("--backend-store-uri") + 1]
    assert store.startswith("postgresql")
