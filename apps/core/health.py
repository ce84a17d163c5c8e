"""Liveness and readiness probes. Readiness names each dependency that is down."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    from portal.celery import app

    with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        if settings.CELERY_BROKER_URL.startswith("filesystem"):
            folder = settings.BROKER_DIR / "queue"
            if not folder.is_dir():
                raise RuntimeError(f"broker folder {folder} is missing")


def check_mlflow() -> None:
    uri = settings.MLFLOW_TRACKING_URI
    if uri.startswith(("http://", "https://")):
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=3) as response:  # noqa: S310
            if response.status != 200:
                raise RuntimeError(f"MLflow answered {response.status}")
        return
    from apps.core.mlflow_store import tracking_client

    tracking_client().search_experiments(max_results=1)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "mlflow": check_mlflow,
}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results, down = {}, []
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"down: {type(exc).__name__}: {str(exc)[:200]}"
            down.append(name)
    body = {"status": "unavailable" if down else "ready", "checks": results, "down": down}
    return JsonResponse(body, status=503 if down else 200)
