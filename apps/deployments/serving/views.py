"""POST /serve/<slug>/predict: a plain Django view, no DRF on the data plane."""

from __future__ import annotations

import json
import logging
import math
import time
import uuid

import pandas as pd
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from apps.deployments import predlog
from apps.deployments.serving import cache, config, routing
from apps.deployments.serving.auth import bearer_ok
from apps.deployments.serving.cache import Entry
from apps.deployments.serving.loader import LoadedModel
from apps.deployments.serving.validation import BadRequest, check_rows, parse_rows

logger = logging.getLogger(__name__)


def _json(status: int, body: dict, **headers: str) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _clean(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else value


@csrf_exempt
def predict(request: HttpRequest, slug: str) -> HttpResponse:
    if request.method != "POST":
        return _json(405, {"detail": "Use POST."}, Allow="POST")
    started = time.perf_counter()
    entry = cache.serving.lookup(slug)
    if entry is None:
        return _json(404, {"detail": f"No deployment {slug!r}."})
    if not bearer_ok(request.headers.get("Authorization", ""), entry.token_hash):
        return _json(
            401,
            {"detail": "A valid serving token is required: Authorization: Bearer TOKEN."},
            WWW_Authenticate=f'Bearer realm="serve/{slug}"',
        )
    route = entry.route
    if route is None:
        if entry.revision_id is None:
            return _json(404, {"detail": f"Deployment {slug!r} has no revision yet."})
        return _json(503, {"detail": f"The model is not loaded: {entry.error}"}, Retry_After="5")
    try:
        rows = parse_rows(request.body, config.max_rows())
    except BadRequest as error:
        return _json(error.status, {"detail": error.detail})
    answering, shadow = routing.pick(route, request.headers)
    errors = check_rows(rows, answering.version.columns)
    if errors:
        return _json(422, {"detail": "The input does not match the model's signature.",
                           "errors": errors})  # fmt: skip
    request_id = getattr(request, "request_id", None) or uuid.uuid4().hex
    log = _Log(entry, route.spec.revision_id, request_id, rows)
    try:
        frame = _frame(rows, answering)
        predictions = [_clean(p) for p in answering.predict(frame)]
    except Exception as error:
        logger.exception("deployment %s: prediction failed", slug)
        log.add(answering, None, f"{type(error).__name__}: {error}", started, shadow=False)
        return _json(500, {"detail": "The model failed on this input.", "request_id": request_id})
    log.add(answering, predictions, "", started, shadow=False)
    response = _json(
        200,
        {"predictions": predictions, "model_version": answering.version.number,
         "request_id": request_id},
    )  # fmt: skip
    if shadow is not None:
        _shadow(shadow, rows, log, slug)
    return response


def _frame(rows: list[dict], model: LoadedModel) -> pd.DataFrame:
    columns = [c.name for c in model.version.columns] if model.version.columns else None
    return pd.DataFrame(rows, columns=columns)


def _shadow(model: LoadedModel, rows: list[dict], log: _Log, slug: str) -> None:
    """The candidate's copy: whatever happens here, the answer is already made."""
    started = time.perf_counter()
    try:
        if check_rows(rows, model.version.columns):
            raise ValueError("the input does not match the candidate's signature")
        predictions = [_clean(p) for p in model.predict(_frame(rows, model))]
    except Exception as error:  # a failing candidate must not affect serving
        logger.warning("deployment %s: shadow prediction failed: %s", slug, error)
        log.add(model, None, f"{type(error).__name__}: {error}", started, shadow=True)
        return
    log.add(model, predictions, "", started, shadow=True)


class _Log:
    def __init__(self, entry: Entry, revision_id: int, request_id: str, rows: list[dict]) -> None:
        self.entry, self.revision_id, self.request_id, self.rows = (
            entry, revision_id, request_id, rows,
        )  # fmt: skip

    def add(
        self,
        model: LoadedModel,
        predictions: list | None,
        error: str,
        started: float,
        *,
        shadow: bool,
    ) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        now = timezone.now()
        predlog.record(
            {
                "deployment_id": self.entry.deployment_id,
                "revision_id": self.revision_id,
                "model_version_id": model.version.id,
                "request_id": self.request_id,
                "row": i,
                "shadow": shadow,
                "inputs": row,
                "output": predictions[i] if predictions is not None else None,
                "error": error,
                "latency_ms": latency_ms,
                "created_at": now,
            }
            for i, row in enumerate(self.rows)
        )
