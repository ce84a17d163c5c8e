"""Alert rules (CRUD per monitor) and alerts (list, acknowledge) over the API."""

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
from apps.monitoring.api import serializers_alerts as s
from apps.monitoring.models import Alert, AlertRule, AlertStatus, RuleKind
from apps.monitoring.selectors.alerts import alert_list, alert_rule_list, monitor_list_for_rules
from apps.monitoring.services.alert_rules import (
    alert_rule_create,
    alert_rule_delete,
    alert_rule_update,
)
from apps.monitoring.services.alerts import alert_acknowledge


class AlertRuleFilter(django_filters.FilterSet):
    # Plain numbers: a choice field would answer 400 for other projects' ids and so reveal
    # which exist.
    monitor = django_filters.NumberFilter(field_name="monitor_id", help_text="Monitor id")
    project = django_filters.CharFilter(field_name="monitor__project__slug")
    deployment = django_filters.CharFilter(
        field_name="monitor__deployment__slug", help_text="Deployment slug"
    )
    kind = django_filters.ChoiceFilter(choices=RuleKind.choices)

    class Meta:
        model = AlertRule
        fields = ["monitor", "project", "deployment", "kind", "enabled"]


class AlertRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Conditions checked on every drift report of a monitor. Viewers read; contributors
    create, change and delete. Each kind takes its own options (see `kind`); a rule's kind is
    fixed once created, and disabling or deleting a rule resolves its unresolved alert."""

    queryset = AlertRule.objects.none()
    serializer_class = s.AlertRuleSerializer
    filterset_class = AlertRuleFilter
    project_path = "monitor__project"
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        return alert_rule_list(user=self.request.user)

    def _answer(self, rule: AlertRule, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=rule.pk)
        return Response(s.AlertRuleSerializer(fresh).data, code)

    @extend_schema(request=s.AlertRuleCreateSerializer, responses={201: s.AlertRuleSerializer})
    def create(self, request: Request) -> Response:
        data = s.AlertRuleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        monitor_id = values.pop("monitor")
        monitor = monitor_list_for_rules(user=request.user).filter(pk=monitor_id).first()
        if monitor is None:
            # As for every body field: what the caller cannot see does not exist (400, not 404).
            raise ValidationError({"monitor": [f"Monitor {monitor_id} not found."]})
        self.require_project_role(monitor.project, Role.CONTRIBUTOR)
        rule = alert_rule_create(actor=request.user, monitor=monitor, **values)
        return self._answer(rule, status.HTTP_201_CREATED)

    @extend_schema(request=s.AlertRuleUpdateSerializer, responses=s.AlertRuleSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        data = s.AlertRuleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = alert_rule_update(actor=request.user, rule=rule, **data.validated_data)
        return self._answer(rule)

    @extend_schema(request=s.AlertRuleUpdateSerializer, responses=s.AlertRuleSerializer)
    def update(self, request: Request, pk: str | None = None) -> Response:
        return self.partial_update(request, pk)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        alert_rule_delete(actor=request.user, rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=AlertStatus.choices, help_text="Repeat to combine: ?status=open&status=acknowledged"
    )
    project = django_filters.CharFilter(field_name="project__slug", help_text="Project slug")
    monitor = django_filters.NumberFilter(field_name="monitor_id", help_text="Monitor id")
    rule = django_filters.NumberFilter(field_name="rule_id", help_text="Alert rule id")
    deployment = django_filters.CharFilter(
        field_name="monitor__deployment__slug", help_text="Deployment slug"
    )
    kind = django_filters.ChoiceFilter(choices=RuleKind.choices)

    class Meta:
        model = Alert
        fields = ["status", "project", "monitor", "rule", "deployment", "kind"]


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Alert episodes of your projects, newest first: opened by the first drift report where a
    rule's condition holds, kept while it holds, resolved by the first report where it does
    not. Contributors acknowledge open ones."""

    queryset = Alert.objects.none()
    serializer_class = s.AlertSerializer
    filterset_class = AlertFilter
    ordering_fields = ["opened_at", "resolved_at"]
    action_roles = {"acknowledge": Role.CONTRIBUTOR}

    def get_queryset(self):
        return alert_list(user=self.request.user)

    @extend_schema(request=None, responses={200: s.AlertSerializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Open -> acknowledged, recording who and when (contributor). An acknowledged alert
        still resolves itself when its condition clears. 409 unless the alert is open."""
        alert = alert_acknowledge(actor=request.user, alert=self.get_object())
        fresh = self.get_queryset().get(pk=alert.pk)
        return Response(s.AlertSerializer(fresh).data)
