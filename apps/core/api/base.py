from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.exceptions import NotFound

from apps.core.models import Project, Role
from apps.core.permissions import require_role, scope_to_member_projects


class ProjectScopedViewSet(viewsets.GenericViewSet):
    """Base for every viewset of project-owned objects.

    Subclasses set `queryset`, serializers and, when the path to the project is not `project`,
    `project_path`. `action_roles` maps an action to the minimum role; unlisted write actions
    need `contributor`, unlisted reads `viewer`.
    """

    project_path = "project"
    action_roles: dict[str, str] = {}
    default_read_role = Role.VIEWER
    default_write_role = Role.CONTRIBUTOR
    read_actions = ("list", "retrieve")

    def get_queryset(self) -> QuerySet:
        return scope_to_member_projects(
            super().get_queryset(), self.request.user, self.project_path
        )

    def required_role(self) -> str:
        if self.action in self.action_roles:
            return self.action_roles[self.action]
        if self.action in self.read_actions or self.request.method in ("GET", "HEAD", "OPTIONS"):
            return self.default_read_role
        return self.default_write_role

    def project_of(self, obj: object) -> Project:
        for part in self.project_path.split("__"):
            obj = getattr(obj, part)
        return obj  # type: ignore[return-value]

    def check_object_permissions(self, request, obj) -> None:
        super().check_object_permissions(request, obj)
        require_role(request.user, self.project_of(obj), self.required_role())

    def require_project_role(self, project: Project, role: str | None = None) -> None:
        """For creates: the target project comes from the body, not from an existing row."""
        try:
            require_role(self.request.user, project, role or self.required_role())
        except NotFound as exc:
            raise NotFound(f"Project '{project.slug}' not found.") from exc
