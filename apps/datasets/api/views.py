from __future__ import annotations

import django_filters
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import filters, mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from apps.core.api.base import ProjectScopedViewSet
from apps.core.models import Role
from apps.core.services.audit import audit_record
from apps.datasets import selectors, services, storage
from apps.datasets.api import serializers as s
from apps.datasets.models import Dataset, DatasetVersion, ValidationRule, VersionStatus
from workers.datasets import diff_versions

CONTENT_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


class BlobUnavailable(APIException):
    status_code = 409
    default_code = "blob_unavailable"


class NotReady(APIException):
    status_code = 409
    default_code = "not_ready"


class DatasetFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug", help_text="Project slug")

    class Meta:
        model = Dataset
        fields = ["project"]


class DatasetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Datasets of your projects. Contributors create them and upload versions."""

    queryset = Dataset.objects.none()
    serializer_class = s.DatasetSerializer
    filterset_class = DatasetFilter
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        filters.SearchFilter,
        filters.OrderingFilter,
    ]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return selectors.dataset_list(user=self.request.user)

    @extend_schema(request=s.DatasetCreateSerializer, responses={201: s.DatasetSerializer})
    def create(self, request):
        data = s.DatasetCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        self.require_project_role(data.validated_data["project"], Role.CONTRIBUTOR)
        dataset = services.dataset_create(actor=request.user, **data.validated_data)
        return Response(
            s.DatasetSerializer(self.get_queryset().get(pk=dataset.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=s.DatasetUpdateSerializer, responses=s.DatasetSerializer)
    def partial_update(self, request, pk=None):
        dataset = self.get_object()
        data = s.DatasetUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.dataset_update(actor=request.user, dataset=dataset, **data.validated_data)
        return Response(s.DatasetSerializer(self.get_queryset().get(pk=dataset.pk)).data)

    @extend_schema(
        methods=["GET"], responses=s.DatasetVersionSummarySerializer(many=True), request=None
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": s.UploadSerializer},
        responses={
            201: s.DatasetVersionSerializer,
            409: OpenApiResponse(description="This content already exists as version N."),
            413: OpenApiResponse(description="The file is larger than the limit."),
        },
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[MultiPartParser, FormParser],
        serializer_class=s.DatasetVersionSummarySerializer,
        filterset_class=None,
    )
    def versions(self, request, pk=None):
        dataset = self.get_object()
        if request.method == "GET":
            versions = selectors.dataset_version_list(user=request.user).filter(dataset=dataset)
            page = self.paginate_queryset(versions.order_by("-version"))
            return self.get_paginated_response(
                s.DatasetVersionSummarySerializer(page, many=True).data
            )
        data = s.UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if not hasattr(upload, "sha256"):
            raise ValidationError({"file": ["The upload was not received as a file."]})
        version = services.dataset_version_upload(
            actor=request.user, dataset=dataset, upload=upload, note=data.validated_data["note"]
        )
        return Response(s.DatasetVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class DatasetVersionFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="dataset__project__slug")
    status = django_filters.MultipleChoiceFilter(choices=VersionStatus.choices)

    class Meta:
        model = DatasetVersion
        fields = ["dataset", "project", "status", "validation_passed", "content_hash"]


class DatasetVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Immutable dataset versions with their schema, profile and validation results."""

    project_path = "dataset__project"
    queryset = DatasetVersion.objects.none()
    serializer_class = s.DatasetVersionSerializer
    filterset_class = DatasetVersionFilter
    ordering_fields = ["created_at", "version"]

    def get_queryset(self):
        return selectors.dataset_version_list(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "list":
            return s.DatasetVersionSummarySerializer
        return super().get_serializer_class()

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The stored file is missing or corrupted."),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        version = self.get_object()
        try:
            path = storage.blob_verify(version.content_hash)
        except (storage.CorruptBlob, storage.MissingBlob) as exc:
            audit_record(
                actor=request.user,
                action="dataset_version.blob_unreadable",
                obj=version,
                project=version.dataset.project,
                changes={"content_hash": version.content_hash, "error": str(exc)},
            )
            raise BlobUnavailable({"detail": str(exc)}) from exc
        response = StreamingHttpResponse(
            storage.blob_chunks(path),
            content_type=CONTENT_TYPES.get(version.format, "application/octet-stream"),
        )
        response["Content-Length"] = str(version.size_bytes)
        name = version.filename or f"{version.dataset.name}-v{version.version}.{version.format}"
        response["Content-Disposition"] = f'attachment; filename="{_safe_name(name)}"'
        response["X-Content-SHA256"] = version.content_hash
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("base", int, required=True, description="The version to compare to")
        ],
        responses=s.DiffSerializer,
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def diff(self, request, pk=None):
        other = self.get_object()
        base = version_diff_base(request, self.get_queryset())
        return Response(version_diff(base, other))


def version_diff_base(request, queryset) -> DatasetVersion:
    raw = request.query_params.get("base", "")
    if not raw.isdigit():
        raise ValidationError({"base": ["Give the id of the version to compare to, e.g. ?base=7."]})
    base = queryset.filter(pk=int(raw)).first()
    if base is None:
        raise ValidationError({"base": [f"No dataset version {raw} that you can see."]})
    return base


def version_diff(base: DatasetVersion, other: DatasetVersion) -> dict:
    for version in (base, other):
        if version.status != VersionStatus.READY:
            raise NotReady(
                {
                    "detail": f"Version {version.version} of {version.dataset.name} is "
                    f"{version.status}, not ready."
                }
            )
    result = diff_versions(
        {"schema": base.schema, "profile": base.profile},
        {"schema": other.schema, "profile": other.profile},
    )
    return {
        "base": s.DatasetVersionSummarySerializer(base).data,
        "other": s.DatasetVersionSummarySerializer(other).data,
        **result,
    }


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:200] or "download"


class ValidationRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Validation rules of a dataset; every new version is checked against them."""

    project_path = "dataset__project"
    queryset = ValidationRule.objects.none()
    serializer_class = s.ValidationRuleSerializer
    filterset_fields = ["dataset", "kind"]

    def get_queryset(self):
        return selectors.validation_rule_list(user=self.request.user)

    def create(self, request):
        data = s.ValidationRuleSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        dataset = data.validated_data.pop("dataset")
        self.require_project_role(dataset.project, Role.CONTRIBUTOR)
        rule = services.validation_rule_create(
            actor=request.user, dataset=dataset, **data.validated_data
        )
        return Response(s.ValidationRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        rule = self.get_object()
        data = s.ValidationRuleSerializer(
            rule, data=request.data, partial=True, context={"request": request}
        )
        data.is_valid(raise_exception=True)
        rule = services.validation_rule_update(actor=request.user, rule=rule, **data.validated_data)
        return Response(s.ValidationRuleSerializer(rule).data)

    def update(self, request, pk=None):
        return self.partial_update(request, pk)

    def destroy(self, request, pk=None):
        services.validation_rule_delete(actor=request.user, rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
