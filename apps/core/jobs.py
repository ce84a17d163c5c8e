"""Job kinds: what a tracked job runs, on which queue, with which parameters.

A later app adds a kind with one decorator:

    @register_job_kind("training.train", queue="gpu", params=TrainParams)
    def train(ctx: JobContext) -> dict: ...

The handler reports progress through ctx, which also keeps the heartbeat the reaper watches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers


class JobCancelled(Exception):
    """Raised inside a handler when its job was cancelled or reaped meanwhile."""


class JobContext:
    def __init__(self, job_id: int, params: dict[str, Any]) -> None:
        self.job_id = job_id
        self.params = params
        self.cancelled = False

    def progress(self, fraction: float, message: str = "") -> None:
        from apps.core.services.jobs import job_report_progress

        if not job_report_progress(job_id=self.job_id, fraction=fraction, message=message):
            self.cancelled = True
        self.check_cancelled()

    def check_cancelled(self) -> None:
        if self.cancelled:
            raise JobCancelled(f"job {self.job_id} is no longer running")


Handler = Callable[[JobContext], dict[str, Any] | None]
# Called inside the transaction that ends a job without success (failed, reaped, cancelled), so
# a domain row that mirrors the job (a dataset version, a training run) never stays "running".
OnEnd = Callable[[Any, str], None]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    queue: str
    params: type[serializers.Serializer] | None
    user_launchable: bool
    description: str
    on_unsuccessful_end: OnEnd | None = None
    # Called inside the transaction of every terminal move (success included), after
    # on_unsuccessful_end; what must happen once the outcome is visible goes in on_commit.
    on_end: OnEnd | None = None


_REGISTRY: dict[str, JobKind] = {}


def register_job_kind(
    name: str,
    *,
    queue: str = "default",
    params: type[serializers.Serializer] | None = None,
    user_launchable: bool = False,
    on_unsuccessful_end: OnEnd | None = None,
    on_end: OnEnd | None = None,
) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        _REGISTRY[name] = JobKind(
            name=name,
            handler=handler,
            queue=queue,
            params=params,
            user_launchable=user_launchable,
            description=(handler.__doc__ or "").strip().splitlines()[0] if handler.__doc__ else "",
            on_unsuccessful_end=on_unsuccessful_end,
            on_end=on_end,
        )
        return handler

    return decorator


def get_job_kind(name: str) -> JobKind | None:
    return _REGISTRY.get(name)


_END_HOOKS: dict[str, list[OnEnd]] = {}


def add_job_end_hook(kind: str, hook: OnEnd) -> None:
    """Another app reacts to every terminal move of a kind it does not own (monitoring to a
    training job or a dataset version ending), called like `on_end`, after it. Registering
    the same function twice keeps one."""
    hooks = _END_HOOKS.setdefault(kind, [])
    if hook not in hooks:
        hooks.append(hook)


def job_end_hooks(kind: str) -> list[OnEnd]:
    return list(_END_HOOKS.get(kind, ()))


def job_kinds(*, user_launchable: bool | None = None) -> list[JobKind]:
    kinds = sorted(_REGISTRY.values(), key=lambda k: k.name)
    if user_launchable is None:
        return kinds
    return [k for k in kinds if k.user_launchable == user_launchable]


class DiagnosticParams(serializers.Serializer):
    seconds = serializers.FloatField(min_value=0, max_value=3600, default=1.0)
    steps = serializers.IntegerField(min_value=1, max_value=1000, default=5)
    fail = serializers.BooleanField(default=False, help_text="End with an error, to test alerts.")


def _diagnostic(ctx: JobContext) -> dict[str, Any]:
    """Checks that a worker picks up work on a queue and reports progress."""
    import platform
    import socket

    seconds, steps = ctx.params["seconds"], ctx.params["steps"]
    for step in range(steps):
        time.sleep(seconds / steps)
        ctx.progress((step + 1) / steps, f"step {step + 1}/{steps}")
    if ctx.params["fail"]:
        raise RuntimeError("diagnostic job asked to fail")
    return {"host": socket.gethostname(), "python": platform.python_version()}


for _queue in ("default", "gpu"):
    register_job_kind(
        f"core.diagnostic.{_queue}", queue=_queue, params=DiagnosticParams, user_launchable=True
    )(_diagnostic)
