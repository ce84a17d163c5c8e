from __future__ import annotations

from rest_framework.exceptions import APIException


class Conflict(APIException):
    """409: the request is well-formed but the deployment's state or the stage rules refuse it.
    `detail` may be a dict naming the field at fault."""

    status_code = 409
    default_detail = "This conflicts with the deployment's current state."
    default_code = "conflict"
