"""Log records that carry the request id, and a formatter writing one JSON object per line.

The request id comes from the per-request context (RequestIdMiddleware in the web process, the
task headers in a Celery worker: apps.core.celery_signals), so one id joins the web log lines of
a request with the worker log lines of the jobs it started.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from apps.core import context

# Attributes every LogRecord has; anything else was passed through `extra=` and is kept.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request id ("-" outside a request or task).

    Put it on the handler, not on a logger: handler filters also see records that propagate up
    from child loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # django.request logs 4xx answers after the middleware has left the context; it
            # passes the request along, which still carries its id.
            request_id = context.current().request_id or getattr(
                getattr(record, "request", None), "request_id", ""
            )
            record.request_id = request_id or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, exception, extras."""

    def format(self, record: logging.LogRecord) -> str:
        if not getattr(record, "request_id", None):
            RequestIdFilter().filter(record)  # a handler configured without the filter
        request_id = record.request_id
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if request_id == "-" else request_id,
            "process": record.process,
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in payload and not key.startswith("_"):
                payload[key] = value
        # default=str: an extra JSON cannot encode (a model, a datetime) must not lose the line.
        return json.dumps(payload, default=str, ensure_ascii=False)
