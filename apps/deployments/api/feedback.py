"""POST /api/v1/predictions/feedback/: ground-truth labels for served predictions, in bulk."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.deployments.services.feedback import MAX_LABELS, predictions_label


class LabelSerializer(serializers.Serializer):
    request_id = serializers.CharField(max_length=64, help_text="From the predict answer.")
    row = serializers.IntegerField(min_value=0, default=0, help_text="Row of that request.")
    label = serializers.JSONField(help_text="The ground truth for that row.")


class FeedbackSerializer(serializers.Serializer):
    labels = LabelSerializer(many=True, allow_empty=False, max_length=MAX_LABELS)


class FeedbackResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    matched = serializers.IntegerField(help_text="(request_id, row) pairs found and labelled.")
    unknown = serializers.IntegerField(help_text="Pairs not found (or not yours to label).")


def _flat(errors: object, prefix: str = "") -> dict[str, list[str]]:
    """Nested list errors as one list of messages per field path (`labels[3].row`), the
    portal's error shape."""
    if isinstance(errors, dict):
        out: dict[str, list[str]] = {}
        for key, value in errors.items():
            if key == "non_field_errors" and prefix:
                out |= _flat(value, prefix)
                continue
            name = (
                f"{prefix}[{key}]" if str(key).isdigit() else f"{prefix}.{key}" if prefix else key
            )
            out |= _flat(value, str(name))
        return out
    if isinstance(errors, list) and any(isinstance(item, dict | list) for item in errors):
        out = {}
        for index, value in enumerate(errors):
            if value:
                out |= _flat(value, f"{prefix}[{index}]")
        return out
    return {prefix or "non_field_errors": [str(message) for message in errors]}


class FeedbackView(APIView):
    @extend_schema(request=FeedbackSerializer, responses=FeedbackResultSerializer)
    def post(self, request: Request) -> Response:
        data = FeedbackSerializer(data=request.data)
        if not data.is_valid():
            raise ValidationError(_flat(data.errors))
        result = predictions_label(actor=request.user, labels=data.validated_data["labels"])
        return Response(FeedbackResultSerializer(result).data)


urlpatterns = [
    path("predictions/feedback/", FeedbackView.as_view(), name="prediction-feedback"),
]
