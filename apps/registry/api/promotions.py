"""Promotion requests over the API: request, review (approve, reject), cancel, override."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.core.api.base import ProjectScopedViewSet
from apps.core.models import Role
from apps.registry.models import ModelVersion, PromotionRequest, RequestStatus
from apps.registry.selectors.policies import reviewable_requests
from apps.registry.selectors.promotions import PROJECT_PATH, promotion_list
from apps.registry.services import promotions as services


class VisibleVersionField(serializers.PrimaryKeyRelatedField):
    """A model version id; versions of projects the caller is not in do not exist (404)."""

    def get_queryset(self):
        from apps.core.permissions import scope_to_member_projects

        return scope_to_member_projects(
            ModelVersion.objects.select_related("registered_model__project", "training_job"),
            self.context["request"].user,
            "registered_model__project",
        )

    def to_internal_value(self, data):
        if isinstance(data, bool) or not str(data).isdigit() or len(str(data)) > 18:
            self.fail("incorrect_type", data_type=type(data).__name__)
        version = self.get_queryset().filter(pk=int(data)).first()
        if version is None:
            raise NotFound({"model_version": [f"Model version {data} not found."]})
        return version


class PromotionCreateSerializer(serializers.Serializer):
    model_version = VisibleVersionField(queryset=ModelVersion.objects.none())
    target = serializers.ChoiceField(choices=services.TARGETS)
    justification = serializers.CharField(max_length=5000)


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class OverrideSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class ReviewSerializer(serializers.Serializer):
    reviewer = serializers.CharField(source="reviewer.username")
    decision = serializers.CharField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class GateSerializer(serializers.Serializer):
    name = serializers.CharField()
    passed = serializers.BooleanField()
    detail = serializers.CharField()


class ChampionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    stage = serializers.CharField()
    metrics = serializers.DictField()


class PromotionSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model_version.registered_model.name")
    registered_model = serializers.IntegerField(source="model_version.registered_model_id")
    project = serializers.CharField(source="model_version.registered_model.project.slug")
    version = serializers.IntegerField(source="model_version.version")
    requested_by = serializers.CharField(source="requested_by.username", allow_null=True)
    override_by = serializers.CharField(source="override_by.username", allow_null=True)
    approvals = serializers.SerializerMethodField()
    reviews = ReviewSerializer(many=True)
    gates = GateSerializer(many=True)
    champion = ChampionSerializer(allow_null=True)

    class Meta:
        model = PromotionRequest
        fields = [
            "id", "project", "model", "registered_model", "model_version", "version", "target",
            "status", "justification", "requested_by", "approvals_required", "approvals",
            "reviews", "gates", "gates_passed", "gates_checked_at", "champion",
            "override_reason", "override_by", "override_at", "expires_at", "decided_at",
            "mlflow_synced_at", "mlflow_error", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField())
    def get_approvals(self, request: PromotionRequest) -> int:
        counted = getattr(request, "approvals", None)
        if counted is not None:
            return counted
        return request.reviews.filter(decision="approve").count()


class PromotionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)
    target = django_filters.ChoiceFilter(choices=[(t, t) for t in services.TARGETS])
    model = django_filters.NumberFilter(field_name="model_version__registered_model")
    model_version = django_filters.NumberFilter(field_name="model_version")
    reviewable_by = django_filters.ChoiceFilter(
        choices=[("me", "me")], method="filter_reviewable", help_text="`me`: requests you can "
        "decide now (pending, you are a reviewer or admin, not yours, not yet reviewed by you).",
    )  # fmt: skip
    requested_by = django_filters.ChoiceFilter(
        choices=[("me", "me")], method="filter_requested", help_text="`me`: your own requests."
    )

    class Meta:
        model = PromotionRequest
        fields = ["status", "target", "model", "model_version"]

    def filter_reviewable(self, queryset, name, value):
        return queryset.filter(pk__in=reviewable_requests(user=self.request.user).values("pk"))

    def filter_requested(self, queryset, name, value):
        return queryset.filter(requested_by=self.request.user)


class PromotionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Promotion requests: a contributor asks to move a model version to staging or production;
    reviewers approve or reject; the final approval moves the stage and updates MLflow."""

    project_path = PROJECT_PATH
    queryset = PromotionRequest.objects.none()
    serializer_class = PromotionSerializer
    filterset_class = PromotionFilter
    ordering_fields = ["created_at", "expires_at", "decided_at"]
    # Each service checks the exact rule (reviewer, requester, admin) and answers 403 itself.
    action_roles = {"approve": Role.VIEWER, "reject": Role.VIEWER, "cancel": Role.VIEWER,
                    "override": Role.VIEWER}  # fmt: skip

    def get_queryset(self):
        return promotion_list(user=self.request.user)

    def _answer(self, request_row: PromotionRequest, code: int = status.HTTP_200_OK) -> Response:
        return Response(PromotionSerializer(self.get_queryset().get(pk=request_row.pk)).data, code)

    @extend_schema(request=PromotionCreateSerializer, responses={201: PromotionSerializer})
    def create(self, request):
        data = PromotionCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        created = services.promotion_request_create(actor=request.user, **data.validated_data)
        return self._answer(created, status.HTTP_201_CREATED)

    @extend_schema(request=CommentSerializer, responses=PromotionSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def approve(self, request, pk=None):
        data = CommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.promotion_approve(
            actor=request.user, request=self.get_object(), comment=data.validated_data["comment"]
        )
        return self._answer(row)

    @extend_schema(request=CommentSerializer, responses=PromotionSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reject(self, request, pk=None):
        data = CommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.promotion_reject(
            actor=request.user, request=self.get_object(), comment=data.validated_data["comment"]
        )
        return self._answer(row)

    @extend_schema(request=None, responses=PromotionSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request, pk=None):
        row = services.promotion_cancel(actor=request.user, request=self.get_object())
        return self._answer(row)

    @extend_schema(request=OverrideSerializer, responses=PromotionSerializer)
    @action(detail=True, methods=["post"], filterset_class=None)
    def override(self, request, pk=None):
        data = OverrideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.promotion_override(
            actor=request.user, request=self.get_object(), reason=data.validated_data["reason"]
        )
        return self._answer(row)
