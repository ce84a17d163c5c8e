from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "`detail` for a general error, or one list of messages per field (`non_field_errors` "
        "for errors that concern several fields)."
    ),
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
ERRORS = {
    "400": "Invalid input; each bad field is named.",
    "401": "No or invalid credentials.",
    "403": "Your role in the project does not allow this.",
    "404": "No such object, or not in a project you belong to.",
    "409": "The object's state does not allow this change.",
    "429": "Too many attempts; wait and retry.",
}


class PortalAutoSchema(AutoSchema):
    """Every operation documents the error answers the portal gives, with their shape."""

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        codes = ["400", "401", "403", "404"]
        if self.method == "POST" and self.path.endswith("/cancel/"):
            codes.append("409")
        if getattr(self.view, "throttle_classes", None):
            codes.append("429")
        for code in codes:
            responses.setdefault(
                code,
                {
                    "content": {"application/json": {"schema": ERROR_SCHEMA}},
                    "description": ERRORS[code],
                },
            )
        return responses
