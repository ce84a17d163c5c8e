from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.core.api.serializers import ProjectField
from apps.datasets.models import Dataset, DatasetVersion, RuleKind, ValidationRule

LOGICAL_TYPES = ["integer", "float", "boolean", "string", "datetime"]


class DatasetSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    version_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "project", "name", "description", "owner", "created_at", "version_count"]
        read_only_fields = fields


class DatasetCreateSerializer(serializers.Serializer):
    project = ProjectField()
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class DatasetUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


class DatasetVersionSummarySerializer(serializers.ModelSerializer):
    dataset = serializers.PrimaryKeyRelatedField(read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = DatasetVersion
        fields = [
            "id",
            "dataset",
            "version",
            "status",
            "content_hash",
            "size_bytes",
            "format",
            "filename",
            "note",
            "row_count",
            "column_count",
            "validation_passed",
            "error",
            "job",
            "created_by",
            "created_at",
            "processed_at",
        ]
        read_only_fields = fields


class DatasetVersionSerializer(DatasetVersionSummarySerializer):
    class Meta(DatasetVersionSummarySerializer.Meta):
        fields = [*DatasetVersionSummarySerializer.Meta.fields, "schema", "profile", "validation"]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or Parquet; streamed, hashed, size-limited.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class DiffSerializer(serializers.Serializer):
    base = DatasetVersionSummarySerializer()
    other = DatasetVersionSummarySerializer()
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    type_changed = serializers.ListField(child=serializers.DictField())
    nullability_changed = serializers.ListField(child=serializers.DictField())
    shifts = serializers.ListField(child=serializers.DictField())


def _need(params: dict, key: str, kind: type | tuple, what: str) -> Any:
    if key not in params:
        raise serializers.ValidationError({"params": [f"'{key}' is required: {what}."]})
    value = params[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise serializers.ValidationError({"params": [f"'{key}' must be {what}."]})
    if not isinstance(value, kind):
        raise serializers.ValidationError({"params": [f"'{key}' must be {what}."]})
    return value


class ValidationRuleSerializer(serializers.ModelSerializer):
    dataset = serializers.PrimaryKeyRelatedField(queryset=Dataset.objects.none())
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = ValidationRule
        fields = ["id", "dataset", "kind", "column", "params", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]

    def get_fields(self) -> dict:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            from apps.datasets.selectors import dataset_list

            fields["dataset"].queryset = dataset_list(user=request.user)
        if self.instance is not None:
            fields["dataset"].read_only = True
        return fields

    def validate_params(self, value: Any) -> dict:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value

    def validate(self, attrs: dict) -> dict:
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        column = attrs.get("column", getattr(self.instance, "column", ""))
        params = attrs.get("params", getattr(self.instance, "params", {}))
        needs_column = kind not in (RuleKind.REQUIRED_COLUMNS, RuleKind.ROW_COUNT_RANGE)
        if needs_column and not column:
            raise serializers.ValidationError({"column": [f"A {kind} rule needs a column."]})
        number = (int, float)
        if kind == RuleKind.REQUIRED_COLUMNS:
            cols = _need(params, "columns", list, "a list of column names")
            if not cols or not all(isinstance(c, str) and c for c in cols):
                raise serializers.ValidationError({"params": ["'columns' must list names."]})
        elif kind == RuleKind.COLUMN_TYPE:
            if _need(params, "type", str, "a type name") not in LOGICAL_TYPES:
                raise serializers.ValidationError(
                    {"params": [f"'type' must be one of {', '.join(LOGICAL_TYPES)}."]}
                )
        elif kind in (RuleKind.MIN, RuleKind.MAX):
            _need(params, "value", number, "a number")
        elif kind == RuleKind.ALLOWED_VALUES:
            values = _need(params, "values", list, "a list of values")
            if not values:
                raise serializers.ValidationError({"params": ["'values' must not be empty."]})
        elif kind == RuleKind.MAX_MISSING_FRACTION:
            value = _need(params, "value", number, "a fraction between 0 and 1")
            if not 0 <= value <= 1:
                raise serializers.ValidationError({"params": ["'value' must be between 0 and 1."]})
        elif kind == RuleKind.ROW_COUNT_RANGE:
            low, high = params.get("min"), params.get("max")
            for key, bound in (("min", low), ("max", high)):
                if bound is not None and (
                    isinstance(bound, bool) or not isinstance(bound, int) or bound < 0
                ):
                    raise serializers.ValidationError(
                        {"params": [f"'{key}' must be a whole number ≥ 0 or null."]}
                    )
            if low is None and high is None:
                raise serializers.ValidationError({"params": ["Give 'min', 'max' or both."]})
            if low is not None and high is not None and low > high:
                raise serializers.ValidationError({"params": ["'min' must not exceed 'max'."]})
        return attrs
