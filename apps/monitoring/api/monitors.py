"""Monitors over the API: list, create, read, change (PATCH), delete, and run one now."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.base import ProjectScopedViewSet
from apps.core.models import Role
from apps.monitoring.api import serializers_monitors as s
from apps.monitoring.models import Monitor, ReportTrigger
from apps.monitoring.selectors.monitors import monitor_list
from apps.monitoring.selectors.reports import report_list
from apps.monitoring.services.drift import drift_run_request
from apps.monitoring.services.monitors import monitor_create, monitor_delete, monitor_update


class MonitorFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug", help_text="Project slug")
    deployment = django_filters.CharFilter(
        field_name="deployment__slug", help_text="Deployment slug"
    )
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = Monitor
        fields = ["project", "deployment", "enabled"]


class MonitorViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet
):  # fmt: skip
    """Drift monitors of your deployments: a reference (the deployed version's training split
    unless another dataset version is named), a window of served predictions (last N hours or
    last N predictions), Evidently options and a schedule. Viewers read; contributors create,
    change, delete and run them."""

    queryset = Monitor.objects.none()
    serializer_class = s.MonitorSerializer
    filterset_class = MonitorFilter
    ordering_fields = ["name", "created_at", "updated_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # JSON only: per_column_method is an object and columns a list, which forms cannot carry.
    parser_classes = [JSONParser]

    def get_queryset(self):
        return monitor_list(user=self.request.user)

    def _answer(self, monitor: Monitor, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=monitor.pk)
        return Response(s.MonitorSerializer(fresh).data, code)

    @extend_schema(request=s.MonitorCreateSerializer, responses={201: s.MonitorSerializer})
    def create(self, request: Request) -> Response:
        """A monitor of a deployment you can see (contributor). It starts with one alert rule,
        "dataset drift detected"."""
        data = s.MonitorCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        deployment = fields.pop("deployment")
        self.require_project_role(deployment.project, Role.CONTRIBUTOR)
        monitor = monitor_create(actor=request.user, deployment=deployment, **fields)
        return self._answer(monitor, status.HTTP_201_CREATED)

    @extend_schema(request=s.MonitorInputSerializer, responses=s.MonitorSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change some settings; the monitor as a whole must stay valid."""
        monitor = self.get_object()
        data = s.MonitorInputSerializer(
            data=request.data, partial=True, context={"request": request}
        )
        data.is_valid(raise_exception=True)
        monitor = monitor_update(actor=request.user, monitor=monitor, **data.validated_data)
        return self._answer(monitor)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Delete the monitor with its schedule, rules, reports and alerts."""
        monitor_delete(actor=request.user, monitor=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: s.DriftReportSerializer})
    @action(detail=True, methods=["post"], filterset_class=None, ordering_fields=[])
    def run(self, request: Request, pk: str | None = None) -> Response:
        """Run the drift job now (contributor): answers the pending report; poll it at
        /api/v1/drift-reports/{id}/."""
        report = drift_run_request(
            actor=request.user, monitor=self.get_object(), trigger=ReportTrigger.MANUAL
        )
        row = report_list(user=request.user).get(pk=report.pk)
        return Response(s.DriftReportSerializer(row).data, status.HTTP_202_ACCEPTED)
