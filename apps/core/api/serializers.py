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

    def to_internal_value(self, data):
        # PostgreSQL cannot compare text holding NUL; such a slug names no project anyway.
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


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
    actor = serializers.CharField(
        source="actor_username", read_only=True, help_text="Empty for the system."
    )
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

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
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

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


def _launchable_kinds() -> list[tuple[str, str]]:
    from apps.core.jobs import job_kinds

    return [(k.name, k.description or k.name) for k in job_kinds(user_launchable=True)]


class JobCreateSerializer(serializers.Serializer):
    project = ProjectField()
    kind = serializers.ChoiceField(choices=[])
    params = serializers.DictField(
        required=False, default=dict, help_text="Parameters of the kind; defaults fill the rest."
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Read at use, not import: every app has registered its kinds by then.
        self.fields["kind"].choices = _launchable_kinds()
