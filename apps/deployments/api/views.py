"""Deployments over the API: list, open, revisions (timeline and new), rollback, canary
actions and the serving token. Every write is a service call that makes a revision."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.base import ProjectScopedViewSet
from apps.core.models import Role
from apps.deployments.api import serializers as s
from apps.deployments.models import Deployment, Environment
from apps.deployments.selectors.deployments import deployment_list, revision_list
from apps.deployments.services import actions
from apps.deployments.services.deployments import deployment_create
from apps.deployments.services.revisions import revision_create
from apps.deployments.services.tokens import deployment_token_rotate
from apps.registry.models import ModelVersion
from apps.registry.selectors.models import registered_model_list


class DeploymentFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug", help_text="Project slug")
    environment = django_filters.ChoiceFilter(choices=Environment.choices)
    model = django_filters.NumberFilter(field_name="registered_model")

    class Meta:
        model = Deployment
        fields = ["project", "environment", "model"]


def _version(deployment: Deployment, field: str, pk: int | None) -> ModelVersion | None:
    if pk is None:
        return None
    version = ModelVersion.objects.filter(pk=pk, registered_model=deployment.registered_model_id)
    found = version.first()
    if found is None:
        raise ValidationError(
            {field: [f"Model {deployment.registered_model.name} has no version with id {pk}."]}
        )
    return found


class DeploymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Deployments of your projects: one per registered model and environment (staging,
    production), served at `/serve/{slug}/predict`. What a deployment serves is its current
    revision; every change (deploy, canary traffic, promote, abort, rollback) is a new one."""

    queryset = Deployment.objects.none()
    serializer_class = s.DeploymentSerializer
    filterset_class = DeploymentFilter
    ordering_fields = ["slug", "created_at"]
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    read_actions = ("list", "retrieve", "revisions")

    def get_queryset(self):
        return deployment_list(user=self.request.user)

    def _answer(self, deployment: Deployment, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=deployment.pk)
        return Response(s.DeploymentSerializer(fresh, context={"request": self.request}).data, code)

    @extend_schema(
        request=s.DeploymentCreateSerializer,
        responses={200: s.DeploymentSerializer, 201: s.DeploymentSerializer},
    )
    def create(self, request: Request) -> Response:
        """Open the deployment of a model in an environment (contributor); an existing one is
        answered as it is (200)."""
        data = s.DeploymentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        model = (
            registered_model_list(user=request.user).filter(pk=data.validated_data["model"]).first()
        )
        if model is None:
            raise NotFound({"model": [f"Model {data.validated_data['model']} not found."]})
        self.require_project_role(model.project, Role.CONTRIBUTOR)
        deployment, created = deployment_create(
            actor=request.user, model=model, environment=data.validated_data["environment"]
        )
        return self._answer(deployment, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        methods=["GET"], request=None, responses=s.RevisionSerializer(many=True),
        summary="The revision timeline, newest first",
    )  # fmt: skip
    @extend_schema(
        methods=["POST"], request=s.RevisionCreateSerializer,
        responses={201: s.RevisionSerializer}, summary="Deploy: a new revision",
    )  # fmt: skip
    @action(detail=True, methods=["get", "post"], filterset_class=None, ordering_fields=[])
    def revisions(self, request: Request, slug: str | None = None) -> Response:
        deployment = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(revision_list(deployment=deployment))
            return self.get_paginated_response(s.RevisionSerializer(page, many=True).data)
        data = s.RevisionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        revision = revision_create(
            actor=request.user, deployment=deployment, strategy=v["strategy"],
            stable=_version(deployment, "stable", v["stable"]),
            candidate=_version(deployment, "candidate", v["candidate"]),
            canary_percent=v["canary_percent"], sticky_header=v["sticky_header"],
            reason=v["reason"],
        )  # fmt: skip
        row = revision_list(deployment=deployment).get(pk=revision.pk)
        return Response(s.RevisionSerializer(row).data, status.HTTP_201_CREATED)

    @extend_schema(request=s.RollbackSerializer, responses={201: s.RevisionSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def rollback(self, request: Request, slug: str | None = None) -> Response:
        """A new revision repeating the previous revision's routing (or revision `revision`)."""
        deployment = self.get_object()
        data = s.RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revision = actions.deployment_rollback(
            actor=request.user, deployment=deployment, to=data.validated_data["revision"],
            reason=data.validated_data["reason"],
        )  # fmt: skip
        row = revision_list(deployment=deployment).get(pk=revision.pk)
        return Response(s.RevisionSerializer(row).data, status.HTTP_201_CREATED)

    @extend_schema(request=s.CanarySerializer, responses={201: s.RevisionSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def canary(self, request: Request, slug: str | None = None) -> Response:
        """`{"percent": n}` changes the canary's traffic; `{"action": "promote"}` sends all of
        it to the candidate, `{"action": "abort"}` all of it back to the stable version."""
        deployment = self.get_object()
        data = s.CanarySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if "percent" in v:
            revision = actions.canary_set_percent(
                actor=request.user, deployment=deployment, percent=v["percent"], reason=v["reason"]
            )
        else:
            act = actions.canary_promote if v["action"] == "promote" else actions.canary_abort
            revision = act(actor=request.user, deployment=deployment, reason=v["reason"])
        row = revision_list(deployment=deployment).get(pk=revision.pk)
        return Response(s.RevisionSerializer(row).data, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: s.TokenSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def token(self, request: Request, slug: str | None = None) -> Response:
        """Create or rotate the serving token (`Authorization: Bearer TOKEN` on
        `/serve/{slug}/predict`). It is answered once; the previous token stops working."""
        token = deployment_token_rotate(actor=request.user, deployment=self.get_object())
        return Response({"token": token}, status.HTTP_201_CREATED)
