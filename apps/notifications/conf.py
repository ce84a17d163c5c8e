"""Webhook delivery settings: a Django setting of the same name wins, else the environment.

Read at use, not import, so tests can change them and a worker process picks them up from the
environment it was started with.
"""

from __future__ import annotations

from django.conf import settings

from portal.env import env_float, env_int


def _value(name: str, default: float, *, integer: bool = False, minimum: float = 0) -> float:
    if hasattr(settings, name):
        return getattr(settings, name)
    if integer:
        return env_int(name, int(default), minimum=int(minimum))
    return env_float(name, default, minimum=minimum)


def retry_base_seconds() -> float:
    """The first retry waits about this long; each later one twice as long as the one before."""
    return _value("WEBHOOK_RETRY_BASE_SECONDS", 30.0)


def retry_cap_seconds() -> float:
    return _value("WEBHOOK_RETRY_CAP_SECONDS", 3600.0)


def max_attempts() -> int:
    return int(_value("WEBHOOK_MAX_ATTEMPTS", 6, integer=True, minimum=1))


def timeout_seconds() -> float:
    return _value("WEBHOOK_TIMEOUT_SECONDS", 5.0, minimum=0.1)


def sweep_grace_seconds() -> float:
    """How late a due delivery may be before the periodic sweeper sends it again."""
    return _value("WEBHOOK_SWEEP_GRACE_SECONDS", 120.0)
