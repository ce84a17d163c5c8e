from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django_filters.fields import IsoDateTimeField

from apps.core.models import AuditEvent, Job


class UtcIsoDateTimeField(IsoDateTimeField):
    def to_python(self, value: str | None) -> datetime | None:
        parsed = super().to_python(value)
        # Any valid ISO offset is accepted, but PostgreSQL only takes offsets up to ±15:59:
        # compare in UTC.
        return parsed.astimezone(UTC) if parsed else parsed


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class AuditEventFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug", help_text="Project slug")
    actor = django_filters.CharFilter(field_name="actor_username", help_text="Username")
    action = django_filters.CharFilter(help_text="Exact action, e.g. membership.add")
    action_prefix = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", help_text="e.g. membership."
    )
    object_type = django_filters.CharFilter(help_text="e.g. core.project")
    object_id = django_filters.CharFilter()
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = AuditEvent
        fields = ["project", "actor", "action", "object_type", "object_id", "since", "until"]


class JobFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug")
    status = django_filters.MultipleChoiceFilter(choices=Job._meta.get_field("status").choices)
    kind = django_filters.CharFilter()

    class Meta:
        model = Job
        fields = ["project", "status", "kind", "queue"]
