from __future__ import annotations

from rest_framework import mixins

from apps.core.api.base import ProjectScopedViewSet
from apps.registry.api import serializers as s
from apps.registry.models import ModelVersion, RegisteredModel


class RegisteredModelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet
):
    """Registered models of your projects."""

    queryset = RegisteredModel.objects.select_related("project")
    serializer_class = s.RegisteredModelSerializer
    filterset_fields = ["name"]


class ModelVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Model versions with their lineage: training job, MLflow run and dataset version."""

    project_path = "registered_model__project"
    queryset = ModelVersion.objects.select_related("registered_model__project")
    serializer_class = s.ModelVersionSerializer
    filterset_fields = ["registered_model", "dataset_version", "training_job"]
