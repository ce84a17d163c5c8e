"""Budgets (admins write, members read) and the monthly cost report."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.base import ProjectScopedViewSet
from apps.core.models import Role
from apps.core.permissions import visible_projects
from apps.costs.api import serializers as s
from apps.costs.models import Budget
from apps.costs.periods import parse_month
from apps.costs.selectors import budget_list, cost_breakdown, monthly_spend
from apps.costs.services import budget_create, budget_delete, budget_update


class BudgetFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug", help_text="Project slug")

    class Meta:
        model = Budget
        fields = ["project"]


class BudgetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """A project's monthly budget: members read it with this month's spend, project admins set,
    change and remove it. Members with the contributor role or above are told (inbox and the
    project's webhooks, events budget.warning and budget.exceeded) once per month when spend
    reaches 80% and 100% of it."""

    queryset = Budget.objects.none()
    serializer_class = s.BudgetSerializer
    filterset_class = BudgetFilter
    ordering_fields = ["amount", "updated_at"]
    default_write_role = Role.ADMIN

    def get_queryset(self):
        return budget_list(user=self.request.user)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False) or not self.request.user.is_authenticated:
            return context
        # One spend query set for the whole page rather than one per budget.
        context["spent"] = {r["project"]: r["spent"] for r in monthly_spend(user=self.request.user)}
        return context

    def _answer(self, budget: Budget, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=budget.pk)
        return Response(self.get_serializer(fresh).data, code)

    @extend_schema(request=s.BudgetCreateSerializer, responses={201: s.BudgetSerializer})
    def create(self, request: Request) -> Response:
        """Set a project's budget (project admin); a project has at most one."""
        data = s.BudgetCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        slug = fields.pop("project")
        project = visible_projects(request.user).filter(slug=slug).first()
        if project is None:
            raise ValidationError({"project": [f"Project '{slug}' not found."]})
        self.require_project_role(project, Role.ADMIN)
        budget = budget_create(actor=request.user, project=project, **fields)
        return self._answer(budget, status.HTTP_201_CREATED)

    @extend_schema(request=s.BudgetUpdateSerializer, responses=s.BudgetSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        budget = self.get_object()
        data = s.BudgetUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        budget = budget_update(actor=request.user, budget=budget, **data.validated_data)
        return self._answer(budget)

    @extend_schema(request=s.BudgetUpdateSerializer, responses=s.BudgetSerializer)
    def update(self, request: Request, pk: str | None = None) -> Response:
        """Like PATCH: fields left out keep their value."""
        return self.partial_update(request, pk)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Remove the budget (project admin); alerts already sent stay recorded."""
        budget_delete(actor=request.user, budget=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class CostReportView(APIView):
    """What your projects spent in a month (UTC): by project against budget, by kind (training,
    sweeps, serving), by model, per deployment with cost per 1,000 predictions, and the most
    expensive training jobs. Training costs are those of jobs that finished in the month."""

    @extend_schema(
        parameters=[
            OpenApiParameter("month", str, description="YYYY-MM (UTC); default this month."),
            OpenApiParameter("project", str, description="Project slug; default all yours."),
        ],
        responses=s.CostReportSerializer,
        summary="Cost report of a month",
    )
    def get(self, request: Request) -> Response:
        query = s.CostQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            month = parse_month(query.validated_data.get("month"))
        except ValueError as exc:
            raise ValidationError({"month": [str(exc)]}) from exc
        slug = query.validated_data.get("project") or None
        mine = visible_projects(request.user)
        if slug and ("\x00" in slug or not mine.filter(slug=slug).exists()):
            raise NotFound(f"Project '{slug}' not found.")
        report = cost_breakdown(user=request.user, month=month, project=slug)
        return Response(s.CostReportSerializer(report).data)
