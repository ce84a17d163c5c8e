from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.registry.models import CARD_SECTIONS, ModelVersion, RegisteredModel, Stage
from apps.registry.services.cards import MAX_SECTION_CHARS, card_validate


class RegisteredModelSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    version_count = serializers.IntegerField(read_only=True)
    latest_version = serializers.IntegerField(read_only=True, allow_null=True)
    staging = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Version number now in staging."
    )
    production = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Version number now in production."
    )

    class Meta:
        model = RegisteredModel
        fields = [
            "id", "project", "name", "description", "card", "version_count", "latest_version",
            "staging", "production", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ModelVersionSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="registered_model.name", read_only=True)
    project = serializers.CharField(source="registered_model.project.slug", read_only=True)
    stage = serializers.ChoiceField(choices=Stage.choices, read_only=True)
    stage_changed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    code_version = serializers.CharField(
        read_only=True, allow_null=True, help_text="Git commit the worker trained with."
    )
    training_job_status = serializers.SerializerMethodField()
    dataset_version_validation = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id", "registered_model", "name", "project", "version", "stage", "stage_changed_at",
            "stage_changed_by", "mlflow_run_id", "source", "training_job", "training_job_status",
            "dataset_version", "dataset_version_validation", "code_version", "metrics",
            "signature", "card", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_training_job_status(self, version: ModelVersion) -> str | None:
        training = version.training_job
        return training.job.status if training is not None else None

    @extend_schema_field(serializers.ChoiceField(choices=["passed", "failed"], allow_null=True))
    def get_dataset_version_validation(self, version: ModelVersion) -> str | None:
        dataset_version = version.dataset_version
        if dataset_version is None or dataset_version.validation_passed is None:
            return None
        return "passed" if dataset_version.validation_passed else "failed"


class CardSerializer(serializers.Serializer):
    """Markdown per section; sections not sent stay as they are, an empty text removes one."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            key: serializers.CharField(
                required=False,
                allow_blank=True,
                trim_whitespace=False,
                max_length=MAX_SECTION_CHARS,
                help_text=label,
            )
            for key, label in CARD_SECTIONS.items()
        }

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, dict):
            unknown = {k: v for k, v in data.items() if k not in CARD_SECTIONS}
            if unknown:
                card_validate(unknown)  # raises, naming every unknown section
        return super().to_internal_value(data)


class PolicySerializer(serializers.Serializer):
    stage = serializers.CharField(read_only=True)
    approvals_required = serializers.IntegerField(read_only=True)
    primary_metric = serializers.CharField(
        read_only=True, help_text="With defaults filled in (accuracy or rmse by task)."
    )
    direction = serializers.CharField(read_only=True)
    floor = serializers.FloatField(read_only=True, allow_null=True)
    tolerance = serializers.FloatField(read_only=True)
    require_validation = serializers.BooleanField(read_only=True)
    expiry_days = serializers.IntegerField(read_only=True)
    deploy_strategy = serializers.CharField(read_only=True)
    canary_percent = serializers.IntegerField(read_only=True)
    stored = serializers.BooleanField(
        read_only=True, help_text="False: nobody has edited it, these are the defaults."
    )


class PolicyInputSerializer(serializers.Serializer):
    """The whole policy of one stage; fields not sent take the defaults."""

    approvals_required = serializers.IntegerField(min_value=1, max_value=10)
    primary_metric = serializers.CharField(
        required=False, allow_blank=True, max_length=100, default="",
        help_text="Empty: accuracy for classification, rmse for regression.",
    )  # fmt: skip
    direction = serializers.ChoiceField(
        choices=[("", "From the metric"), ("max", "Higher is better"), ("min", "Lower is better")],
        required=False, default="",
    )  # fmt: skip
    floor = serializers.FloatField(
        required=False, allow_null=True, default=None, min_value=-1e12, max_value=1e12
    )
    tolerance = serializers.FloatField(required=False, default=0.01, min_value=0, max_value=1e12)
    require_validation = serializers.BooleanField(required=False, default=True)
    expiry_days = serializers.IntegerField(required=False, default=7, min_value=1, max_value=90)
    deploy_strategy = serializers.ChoiceField(
        choices=[("direct", "Direct"), ("canary", "Canary")], required=False, default="direct",
        help_text="On approval, deploy the version directly or as a canary beside the current one.",
    )  # fmt: skip
    canary_percent = serializers.IntegerField(required=False, default=10, min_value=1, max_value=99)


class VersionMetricRowSerializer(serializers.Serializer):
    name = serializers.CharField()
    a = serializers.FloatField(allow_null=True)
    b = serializers.FloatField(allow_null=True)
    diff = serializers.FloatField(allow_null=True, help_text="b - a")
    direction = serializers.CharField(help_text="max: higher is better; min: lower is better.")
    better = serializers.ChoiceField(choices=["a", "b"], allow_null=True)


class SignatureDiffSerializer(serializers.Serializer):
    only_in_a = serializers.ListField(child=serializers.DictField())
    only_in_b = serializers.ListField(child=serializers.DictField())
    type_changed = serializers.ListField(child=serializers.DictField())
    same = serializers.BooleanField()


class VersionCompareSerializer(serializers.Serializer):
    a = ModelVersionSerializer()
    b = ModelVersionSerializer()
    metrics = VersionMetricRowSerializer(many=True)
    signature = SignatureDiffSerializer()


class HistoryEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    version_id = serializers.IntegerField()
    from_stage = serializers.CharField()
    to_stage = serializers.CharField()
    at = serializers.DateTimeField()
    changed_by = serializers.CharField(allow_null=True)
    reason = serializers.CharField()
    request = serializers.IntegerField(allow_null=True)
    requested_by = serializers.CharField(allow_null=True)
    justification = serializers.CharField()
    approvers = serializers.ListField(child=serializers.CharField())
    comments = serializers.ListField(child=serializers.DictField())
    gates_passed = serializers.BooleanField(allow_null=True)
    gates = serializers.ListField(child=serializers.DictField())
    override_reason = serializers.CharField()
    override_by = serializers.CharField(allow_null=True)


class StagesAtSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    staging = HistoryEntrySerializer(allow_null=True)
    production = HistoryEntrySerializer(allow_null=True)


class HistorySerializer(serializers.Serializer):
    entries = HistoryEntrySerializer(many=True)
    stages_at = StagesAtSerializer(
        allow_null=True, help_text="With ?at=: what held each stage at that moment."
    )
