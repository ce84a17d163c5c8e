"""Carry the request id from the web request that sent a task into the worker that runs it.

The sender puts the current request id into the task message headers; the worker binds it to
the request context for the task's duration, so its log lines (and the audit events the task
writes) carry the same id as the request that caused them. Beat-scheduled tasks have none.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from apps.core import context

HEADER = "portal_request_id"
log = logging.getLogger(__name__)

# task id -> context token; prerun and postrun of one task run in the same thread.
_tokens: dict[str, Any] = {}


@before_task_publish.connect
def add_request_id(headers: dict | None = None, **kwargs: Any) -> None:
    request_id = context.current().request_id
    if request_id and headers is not None and not headers.get(HEADER):
        headers[HEADER] = request_id


@task_prerun.connect
def bind_request_id(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    request_id = getattr(getattr(task, "request", None), HEADER, None)
    if not request_id or task_id is None:
        return  # eager tasks keep the caller's context; beat tasks have no request
    _tokens[task_id] = context.bind(context.RequestContext(request_id=str(request_id)[:64]))
    log.info("task %s[%s] started for request %s", task.name, task_id, request_id)


@task_postrun.connect
def unbind_request_id(task_id: str | None = None, **kwargs: Any) -> None:
    token = _tokens.pop(task_id, None) if task_id else None
    if token is not None:
        try:
            context.reset(token)
        except ValueError:  # bound in another context (should not happen): just clear it
            context.bind(context.RequestContext())


@setup_logging.connect
def use_django_logging(**kwargs: Any) -> None:
    """Workers log through the portal's LOGGING (plain or JSON, with request ids) instead of
    Celery's own format; connecting this signal stops Celery from configuring logging."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
