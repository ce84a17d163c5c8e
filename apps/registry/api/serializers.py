from __future__ import annotations

from rest_framework import serializers

from apps.registry.models import ModelVersion, RegisteredModel


class RegisteredModelSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = RegisteredModel
        fields = ["id", "project", "name", "description", "created_at"]
        read_only_fields = fields


class ModelVersionSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="registered_model.name", read_only=True)
    project = serializers.CharField(source="registered_model.project.slug", read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id", "name", "project", "version", "mlflow_run_id", "source", "training_job",
            "dataset_version", "metrics", "signature", "created_at",
        ]  # fmt: skip
        read_only_fields = fields
