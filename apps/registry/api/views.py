from __future__ import annotations

from datetime import UTC

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.base import ProjectScopedViewSet
from apps.core.models import Role
from apps.registry.api import serializers as s
from apps.registry.models import ModelVersion, RegisteredModel, Stage
from apps.registry.selectors import models as selectors
from apps.registry.selectors.compare import version_compare
from apps.registry.selectors.policies import policy_for
from apps.registry.services.cards import card_update
from apps.registry.services.policies import POLICY_STAGES, policy_update

MAX_ID = 2**31 - 1


class RegisteredModelFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug", help_text="Project slug")

    class Meta:
        model = RegisteredModel
        fields = ["project", "name"]


class ModelVersionFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(
        field_name="registered_model__project__slug", help_text="Project slug"
    )
    stage = django_filters.ChoiceFilter(choices=Stage.choices)

    class Meta:
        model = ModelVersion
        fields = ["project", "registered_model", "stage", "dataset_version", "training_job"]


def _task_of(model: RegisteredModel) -> str:
    """The task of the model's latest trained version: the default primary metric follows it."""
    latest = (
        model.versions.filter(training_job__isnull=False)
        .order_by("-version")
        .values_list("training_job__task", flat=True)
        .first()
    )
    return latest or ""


def _policies(model: RegisteredModel) -> list[dict]:
    task = _task_of(model)
    return [vars(policy_for(model, stage, task=task)) for stage in POLICY_STAGES]


class _AtSerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False)


class _CompareQuerySerializer(serializers.Serializer):
    a = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    b = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class RegisteredModelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet
):
    """Registered models of your projects, with version counts and the versions now in staging
    and production; their cards, promotion policies and stage history."""

    queryset = RegisteredModel.objects.none()
    serializer_class = s.RegisteredModelSerializer
    filterset_class = RegisteredModelFilter
    ordering_fields = ["name", "created_at"]
    action_roles = {"policy_update": Role.ADMIN}

    def get_queryset(self):
        return selectors.registered_model_list(user=self.request.user)

    def _answer(self, model: RegisteredModel) -> Response:
        return Response(s.RegisteredModelSerializer(self.get_queryset().get(pk=model.pk)).data)

    @extend_schema(request=s.CardSerializer, responses=s.RegisteredModelSerializer)
    @action(detail=True, methods=["patch"])
    def card(self, request: Request, pk: str | None = None) -> Response:
        model = self.get_object()
        data = s.CardSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        card_update(actor=request.user, obj=model, sections=dict(data.validated_data))
        return self._answer(model)

    @extend_schema(responses=s.PolicySerializer(many=True))
    @action(detail=True, methods=["get"])
    def policies(self, request: Request, pk: str | None = None) -> Response:
        return Response(s.PolicySerializer(_policies(self.get_object()), many=True).data)

    @extend_schema(
        request=s.PolicyInputSerializer,
        responses=s.PolicySerializer,
        parameters=[OpenApiParameter("stage", str, "path", enum=list(POLICY_STAGES))],
    )
    @action(detail=True, methods=["put"], url_path=r"policies/(?P<stage>[^/.]+)")
    def policy_update(self, request: Request, pk: str | None = None, stage: str = "") -> Response:
        model = self.get_object()
        if stage not in POLICY_STAGES:
            raise NotFound(f"No policy for stage '{stage}'; the stages are staging, production.")
        data = s.PolicyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy_update(actor=request.user, model=model, stage=stage, **data.validated_data)
        return Response(
            s.PolicySerializer(vars(policy_for(model, stage, task=_task_of(model)))).data
        )

    @extend_schema(
        responses=s.HistorySerializer,
        parameters=[
            OpenApiParameter(
                "at", OpenApiTypes.DATETIME, description="What held each stage at this moment."
            )
        ],
    )
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str | None = None) -> Response:
        model = self.get_object()
        query = _AtSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        at = query.validated_data.get("at")
        stages_at = None
        if at is not None:
            at = at.astimezone(UTC)
            stages_at = {"at": at, **selectors.stages_at(model=model, at=at)}
        body = {"entries": selectors.model_history(model=model), "stages_at": stages_at}
        return Response(s.HistorySerializer(body).data)


class ModelVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Model versions with their lineage (training job, MLflow run, dataset version and its
    validation, code version), signature, stage and card; compare two of them."""

    project_path = "registered_model__project"
    queryset = ModelVersion.objects.none()
    serializer_class = s.ModelVersionSerializer
    filterset_class = ModelVersionFilter
    ordering_fields = ["version", "created_at", "stage_changed_at"]
    read_actions = ("list", "retrieve", "compare")

    def get_queryset(self):
        return selectors.model_version_list(user=self.request.user)

    @extend_schema(request=s.CardSerializer, responses=s.ModelVersionSerializer)
    @action(detail=True, methods=["patch"])
    def card(self, request: Request, pk: str | None = None) -> Response:
        version = self.get_object()
        data = s.CardSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        card_update(actor=request.user, obj=version, sections=dict(data.validated_data))
        return Response(s.ModelVersionSerializer(self.get_queryset().get(pk=version.pk)).data)

    @extend_schema(
        responses=s.VersionCompareSerializer,
        parameters=[
            OpenApiParameter("a", int, required=True, description="A model version id."),
            OpenApiParameter("b", int, required=True, description="Another model version id."),
        ],
    )
    @action(detail=False, methods=["get"])
    def compare(self, request: Request) -> Response:
        query = _CompareQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        ids = (query.validated_data["a"], query.validated_data["b"])
        found = {v.pk: v for v in self.get_queryset().filter(pk__in=ids)}
        if any(pk not in found for pk in ids):
            raise NotFound("Model version not found.")
        a, b = found[ids[0]], found[ids[1]]
        return Response(s.VersionCompareSerializer({"a": a, "b": b, **version_compare(a, b)}).data)
