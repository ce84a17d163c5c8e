from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.deployments.models import Deployment, Environment, Revision, Strategy

MAX_ID = 2**31 - 1
HEADER_NAME = r"^[A-Za-z0-9-]*$"


# Labels of their own: the same value set with the model's labels is the promotion `target`
# enum, and the schema would merge the two under one name.
ENVIRONMENT_CHOICES = [(e.value, f"{e.label} environment") for e in Environment]


@extend_schema_field(
    {
        "type": "string",
        # A pattern, not an enum: sweeps have an enum named `strategy` too, and two of them
        # collide in the schema's component names.
        "pattern": "^(" + "|".join(Strategy.values) + ")$",
        "description": "direct | canary | shadow | blue_green",
    }
)
class StrategyField(serializers.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=Strategy.choices, **kwargs)


def strategy_field(**kwargs) -> serializers.ChoiceField:
    return StrategyField(**kwargs)


def environment_field(**kwargs) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=ENVIRONMENT_CHOICES, **kwargs)


class VersionBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    stage = serializers.CharField()


class RevisionSerializer(serializers.ModelSerializer):
    strategy = strategy_field()
    stable = VersionBriefSerializer()
    candidate = VersionBriefSerializer(allow_null=True)
    rolled_back_to = serializers.IntegerField(
        source="rolled_back_to.number", allow_null=True, help_text="Revision number repeated."
    )
    created_by = serializers.CharField(source="created_by.username", allow_null=True)

    class Meta:
        model = Revision
        fields = [
            "id", "number", "strategy", "stable", "candidate", "canary_percent", "sticky_header",
            "action", "reason", "rolled_back_to", "promotion_request", "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ModelBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DeploymentSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.slug")
    environment = environment_field()
    model = ModelBriefSerializer(source="registered_model")
    current_revision = RevisionSerializer(allow_null=True)
    endpoint = serializers.SerializerMethodField()
    has_token = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = [
            "id", "slug", "project", "environment", "model", "current_revision", "endpoint",
            "has_token", "token_hint", "token_rotated_at", "last_error", "last_error_at",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_endpoint(self, deployment: Deployment) -> str:
        path = f"/serve/{deployment.slug}/predict"
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(serializers.BooleanField())
    def get_has_token(self, deployment: Deployment) -> bool:
        return bool(deployment.token_hash)


class DeploymentCreateSerializer(serializers.Serializer):
    model = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Registered model id")
    environment = environment_field()


class RevisionCreateSerializer(serializers.Serializer):
    strategy = strategy_field()
    stable = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Model version id")
    candidate = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None,
        help_text="Model version id; canary, shadow and blue_green need one.",
    )  # fmt: skip
    canary_percent = serializers.IntegerField(min_value=0, max_value=100, default=0)
    sticky_header = serializers.RegexField(
        HEADER_NAME, max_length=100, required=False, allow_blank=True, default="",
        help_text="Canary routing sticks to the value of this request header.",
    )  # fmt: skip
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RollbackSerializer(serializers.Serializer):
    revision = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None,
        help_text="Revision number to return to; default: the previous one.",
    )  # fmt: skip
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CanarySerializer(serializers.Serializer):
    percent = serializers.IntegerField(min_value=1, max_value=99, required=False)
    action = serializers.ChoiceField(choices=["promote", "abort"], required=False)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        if ("percent" in attrs) == ("action" in attrs):
            raise serializers.ValidationError(
                {"percent": ["Send either a percent (1-99) or an action (promote, abort)."]}
            )
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once; only its hash is kept.")
