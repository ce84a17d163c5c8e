from __future__ import annotations

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from apps.core import selectors
from apps.core.api import serializers as s
from apps.core.api.base import ProjectScopedViewSet
from apps.core.api.filters import AuditEventFilter, JobFilter
from apps.core.models import Job, Membership, Project, Role
from apps.core.permissions import require_role
from apps.core.services import jobs as job_services
from apps.core.services import projects as project_services
from apps.core.services.tokens import api_token_create


class LoginThrottle(AnonRateThrottle):
    rate = "30/min"


class TokenView(APIView):
    """Exchange a username and password for an API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=s.TokenRequestSerializer, responses={201: s.TokenResponseSerializer}, auth=[]
    )
    def post(self, request):
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            # Never say whether the username or the password was wrong.
            return Response(
                {"non_field_errors": ["Unable to sign in with the provided credentials."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        token, key = api_token_create(user=user, name=data.validated_data["name"])
        body = {"token": key, "prefix": token.key_prefix, "user": s.UserSerializer(user).data}
        return Response(body, status=status.HTTP_201_CREATED)


class MeView(APIView):
    @extend_schema(responses=s.MeSerializer)
    def get(self, request):
        memberships = selectors.user_memberships(user=request.user)
        return Response(
            s.MeSerializer(
                {"user": request.user, "memberships": memberships}, context={"request": request}
            ).data
        )


class ProjectViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Projects you are a member of. Anyone signed in may create one and becomes its admin."""

    lookup_field = "slug"
    lookup_value_regex = "[a-z0-9-]+"
    serializer_class = s.ProjectSerializer
    ordering_fields = ["slug", "name", "created_at"]
    queryset = Project.objects.none()

    def get_queryset(self):
        return selectors.project_list(user=self.request.user)

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return s.ProjectUpdateSerializer
        return s.ProjectSerializer

    def perform_create(self, serializer) -> None:
        serializer.instance = project_services.project_create(
            creator=self.request.user, **serializer.validated_data
        )

    @extend_schema(request=s.ProjectUpdateSerializer, responses=s.ProjectSerializer)
    def update(self, request, *args, **kwargs):
        project = self.get_object()
        require_role(request.user, project, Role.ADMIN)
        data = s.ProjectUpdateSerializer(
            project, data=request.data, partial=kwargs.get("partial", False)
        )
        data.is_valid(raise_exception=True)
        project = project_services.project_update(
            actor=request.user, project=project, **data.validated_data
        )
        return Response(s.ProjectSerializer(project, context={"request": request}).data)

    @extend_schema(request=s.ProjectUpdateSerializer, responses=s.ProjectSerializer)
    def partial_update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)


class MemberViewSet(viewsets.GenericViewSet):
    """Members of one project. Members read; project admins add, change and remove."""

    serializer_class = s.MembershipSerializer
    lookup_field = "username"
    lookup_value_regex = r"[\w.@+-]+"
    queryset = Membership.objects.none()

    def project(self) -> Project:
        if not hasattr(self, "_project"):
            self._project = get_object_or_404(
                selectors.project_list(user=self.request.user), slug=self.kwargs["project_slug"]
            )
        return self._project

    def get_queryset(self):
        return selectors.membership_list(project=self.project())

    def list(self, request, project_slug: str):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.MembershipSerializer(page, many=True).data)

    def retrieve(self, request, project_slug: str, username: str):
        return Response(s.MembershipSerializer(self.get_object()).data)

    def get_object(self) -> Membership:
        return get_object_or_404(self.get_queryset(), user__username=self.kwargs["username"])

    @extend_schema(request=s.MembershipCreateSerializer, responses={201: s.MembershipSerializer})
    def create(self, request, project_slug: str):
        project = self.project()
        require_role(request.user, project, Role.ADMIN)
        data = s.MembershipCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = project_services.membership_add(
            actor=request.user, project=project, **data.validated_data
        )
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.MembershipUpdateSerializer, responses=s.MembershipSerializer)
    def partial_update(self, request, project_slug: str, username: str):
        require_role(request.user, self.project(), Role.ADMIN)
        membership = self.get_object()
        data = s.MembershipUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = project_services.membership_change_role(
            actor=request.user, membership=membership, role=data.validated_data["role"]
        )
        return Response(s.MembershipSerializer(membership).data)

    @extend_schema(request=s.MembershipUpdateSerializer, responses=s.MembershipSerializer)
    def update(self, request, project_slug: str, username: str):
        return self.partial_update(request, project_slug, username)

    def destroy(self, request, project_slug: str, username: str):
        require_role(request.user, self.project(), Role.ADMIN)
        project_services.membership_remove(actor=request.user, membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail: append-only, filterable, never editable through the API."""

    serializer_class = s.AuditEventSerializer
    filterset_class = AuditEventFilter
    ordering_fields = ["created_at", "action"]
    queryset = selectors.AuditEvent.objects.none()

    def get_queryset(self):
        return selectors.audit_event_list(user=self.request.user)


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Background jobs of your projects. Contributors may launch diagnostic jobs and cancel."""

    queryset = Job.objects.select_related("project", "created_by")
    serializer_class = s.JobSerializer
    filterset_class = JobFilter
    ordering_fields = ["created_at", "status"]

    @extend_schema(request=s.JobCreateSerializer, responses={201: s.JobSerializer})
    def create(self, request):
        data = s.JobCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        self.require_project_role(data.validated_data["project"], Role.CONTRIBUTOR)
        job = job_services.job_create(actor=request.user, **data.validated_data)
        return Response(s.JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk: str | None = None):
        job = job_services.job_cancel(job=self.get_object(), actor=request.user)
        return Response(s.JobSerializer(job).data)
