from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus model-level validation errors turned into field-level 400s."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    response = drf_exception_handler(exc, context)
    if response is not None and getattr(exc, "payload", None) is not None:
        # DRF turns every detail value into a string; some answers carry typed fields.
        response.data = exc.payload
    if response is not None:
        request = context.get("request")
        request_id = getattr(getattr(request, "_request", request), "request_id", "")
        if request_id:
            response["X-Request-ID"] = request_id
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """API and serving clients get JSON for URLs that match no route; people get the page."""

    if request.path.startswith(("/api/", "/serve/")):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def json_server_error(request: HttpRequest) -> HttpResponse:

    if request.path.startswith(("/api/", "/serve/")):
        request_id = getattr(request, "request_id", "")
        body = {"detail": "Internal error; it has been logged.", "request_id": request_id}
        return JsonResponse(body, status=500)
    return server_error(request)
