"""Serving knobs. Each is a Django setting when the settings define it (tests override them
there), else the environment variable of the same name, parsed strictly."""

from __future__ import annotations

from django.conf import settings

from portal.env import env_float, env_int


def max_rows() -> int:
    return getattr(settings, "SERVING_MAX_ROWS", None) or env_int(
        "SERVING_MAX_ROWS", 1000, minimum=1
    )


def refresh_seconds() -> float:
    value = getattr(settings, "SERVING_REFRESH_SECONDS", None)
    return value if value is not None else env_float("SERVING_REFRESH_SECONDS", 1.0, minimum=0)


def log_flush_seconds() -> float:
    value = getattr(settings, "PREDICTION_LOG_FLUSH_SECONDS", None)
    if value is not None:
        return value
    return env_float("PREDICTION_LOG_FLUSH_SECONDS", 1.0, minimum=0.01)


def log_batch() -> int:
    return getattr(settings, "PREDICTION_LOG_BATCH", None) or env_int(
        "PREDICTION_LOG_BATCH", 500, minimum=1
    )
