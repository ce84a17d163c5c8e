"""Retrain policies over the API: one per registered model (contributors create and edit,
admins delete), their run history, and a manual trigger."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.base import ProjectScopedViewSet
from apps.core.models import Role
from apps.monitoring.api import serializers_retrain as s
from apps.monitoring.models import RetrainPolicy, RetrainStatus, RetrainTrigger
from apps.monitoring.selectors.retrain import retrain_policy_list, retrain_run_list
from apps.monitoring.services.retrain import (
    retrain_policy_create,
    retrain_policy_delete,
    retrain_policy_update,
    retrain_trigger,
)
from apps.registry.selectors.models import registered_model_list


class RetrainPolicyFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug", help_text="Project slug")
    model = django_filters.NumberFilter(field_name="registered_model", help_text="Model id")

    class Meta:
        model = RetrainPolicy
        fields = ["project", "model", "enabled"]


class RetrainPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Continuous training of a registered model: which events retrain it (a drift alert, a new
    dataset version, a schedule), on what data, and how often at most (cooldown, one run in
    flight). A retraining reuses the production version's template and parameters and, when it
    succeeds, opens a promotion request to staging in the name of the policy's creator, who
    therefore cannot approve it: reviewers do."""

    queryset = RetrainPolicy.objects.none()
    serializer_class = s.RetrainPolicySerializer
    filterset_class = RetrainPolicyFilter
    ordering_fields = ["created_at", "updated_at"]
    action_roles = {"destroy": Role.ADMIN}
    read_actions = ("list", "retrieve", "runs")

    def get_queryset(self):
        return retrain_policy_list(user=self.request.user)

    def _answer(self, policy: RetrainPolicy, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=policy.pk)
        return Response(s.RetrainPolicySerializer(fresh).data, code)

    @extend_schema(
        request=s.RetrainPolicyCreateSerializer, responses={201: s.RetrainPolicySerializer}
    )
    def create(self, request: Request) -> Response:
        """Create the model's policy (contributor); a model has at most one."""
        data = s.RetrainPolicyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        model_id = fields.pop("model")
        # Models of projects the caller cannot see do not exist, as in every other body field.
        model = registered_model_list(user=request.user).filter(pk=model_id).first()
        if model is None:
            raise ValidationError({"model": [f"Model {model_id} not found."]})
        self.require_project_role(model.project, Role.CONTRIBUTOR)
        policy = retrain_policy_create(actor=request.user, registered_model=model, **fields)
        return self._answer(policy, status.HTTP_201_CREATED)

    @extend_schema(request=s.RetrainPolicyUpdateSerializer, responses=s.RetrainPolicySerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        policy = self.get_object()
        data = s.RetrainPolicyUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        policy = retrain_policy_update(actor=request.user, policy=policy, **data.validated_data)
        return self._answer(policy)

    @extend_schema(request=s.RetrainPolicyUpdateSerializer, responses=s.RetrainPolicySerializer)
    def update(self, request: Request, pk: str | None = None) -> Response:
        """Like PATCH: fields left out keep their value."""
        return self.partial_update(request, pk)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Delete the policy, its schedule and its run history (admin)."""
        retrain_policy_delete(actor=request.user, policy=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=s.RetrainRunSerializer(many=True), summary="The run history")
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=[])
    def runs(self, request: Request, pk: str | None = None) -> Response:
        """Every trigger of the policy and what came of it, newest first: skipped (with the
        reason), preparing data, training, promotion requested, or failed."""
        page = self.paginate_queryset(retrain_run_list(policy=self.get_object()))
        return self.get_paginated_response(s.RetrainRunSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: s.RetrainRunSerializer, 409: s.RetrainRefusedSerializer},
        summary="Retrain now",
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def trigger(self, request: Request, pk: str | None = None) -> Response:
        """Retrain now (contributor), under the same rules as any trigger. 202 with the run when
        it launched (training, or preparing its data). 409 when it did not: the policy is
        disabled (nothing recorded), or the run was skipped (one in flight, cooldown, nothing
        in production, no valid data); the skipped run is kept in the history and returned."""
        policy = self.get_object()
        run = retrain_trigger(policy=policy, trigger=RetrainTrigger.MANUAL, actor=request.user)
        if run is None:
            body = {"detail": "The policy is disabled: enable it to retrain.", "run": None}
            return Response(body, status.HTTP_409_CONFLICT)
        row = s.RetrainRunSerializer(retrain_run_list(policy=policy).get(pk=run.pk)).data
        if run.status == RetrainStatus.SKIPPED:
            return Response({"detail": run.reason, "run": row}, status.HTTP_409_CONFLICT)
        return Response(row, status.HTTP_202_ACCEPTED)
