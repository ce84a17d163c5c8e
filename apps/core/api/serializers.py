from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.models import AuditEvent, Job, Membership, Project, Role
from apps.core.permissions import visible_projects

User = get_user_model()


@extend_schema_field(OpenApiTypes.STR)
class ProjectField(serializers.SlugRelatedField):
    """A project slug in a request body; projects the caller cannot see do not exist."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("slug_field", "slug")
        super().__init__(**kwargs)

    def get_queryset(self):
        return visible_projects(self.context["request"].user)


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "is_superuser"]
        read_only_fields = fields


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=512, style={"input_type": "password"})
    name = serializers.CharField(max_length=100, required=False, default="api")


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once; store it. Send as `Token KEY`.")
    prefix = serializers.CharField()
    user = UserSerializer()


class ProjectSerializer(serializers.ModelSerializer):
    my_role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["slug", "name", "description", "created_at", "my_role"]
        read_only_fields = ["created_at", "my_role"]

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices, allow_null=True))
    def get_my_role(self, project: Project) -> str | None:
        from apps.core.permissions import project_role

        return project_role(self.context["request"].user, project)


class ProjectUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["name", "description"]


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    project = serializers.CharField(source="project.slug", read_only=True)

    class Meta:
        model = Membership
        fields = ["project", "username", "role", "created_at"]
        read_only_fields = fields


class MembershipCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class MeSerializer(serializers.Serializer):
    user = UserSerializer()
    memberships = MembershipSerializer(many=True)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_username", read_only=True)
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "project",
            "changes",
            "request_id",
            "ip_address",
        ]
        read_only_fields = fields


class JobSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "project",
            "kind",
            "queue",
            "status",
            "params",
            "result",
            "progress",
            "message",
            "error",
            "worker",
            "attempts",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
        ]
        read_only_fields = fields


class JobCreateSerializer(serializers.Serializer):
    project = ProjectField()
    kind = serializers.CharField(
        max_length=100, help_text="A launchable kind, e.g. core.diagnostic.default"
    )
    params = serializers.DictField(required=False, default=dict)

    def validate_kind(self, value: str) -> str:
        from apps.core.jobs import get_job_kind

        spec = get_job_kind(value)
        if spec is None or not spec.user_launchable:
            from apps.core.jobs import job_kinds

            names = ", ".join(k.name for k in job_kinds(user_launchable=True))
            raise serializers.ValidationError(f"Unknown or internal job kind; launchable: {names}.")
        return value
