from __future__ import annotations

import django_filters

from apps.core.models import AuditEvent, Job


class AuditEventFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug", help_text="Project slug")
    actor = django_filters.CharFilter(field_name="actor_username", help_text="Username")
    action = django_filters.CharFilter(help_text="Exact action, e.g. membership.add")
    action_prefix = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", help_text="e.g. membership."
    )
    object_type = django_filters.CharFilter(help_text="e.g. core.project")
    object_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")

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
