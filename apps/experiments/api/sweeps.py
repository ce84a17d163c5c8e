"""Sweeps API: launch a hyper-parameter search, follow its trials on a leaderboard, cancel it."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.base import ProjectScopedViewSet
from apps.core.api.serializers import ProjectField
from apps.core.models import JobStatus, Role
from apps.datasets.models import DatasetVersion
from apps.experiments import selectors, services
from apps.experiments.models import Direction, Strategy, Sweep, SweepStatus, Task
from apps.experiments.services.sweeps import MAX_TRIALS

SPACE_HELP = (
    "Parameter name → a list of values, or a range {min, max, scale: linear|log, type: int|float, "
    'steps (grid only, default 3)}. Example: {"learning_rate": {"min": 0.0001, "max": 0.1, '
    '"scale": "log"}, "optimizer": ["adam", "sgd"]}'
)


class SweepCreateSerializer(serializers.Serializer):
    project = ProjectField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    experiment = serializers.CharField(max_length=200)
    dataset_version = serializers.PrimaryKeyRelatedField(queryset=DatasetVersion.objects.none())
    target = serializers.CharField(max_length=200)
    task = serializers.ChoiceField(choices=Task.choices)
    template = serializers.CharField(max_length=50, help_text="See /api/v1/training-templates/")
    model_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text="Registered model name; defaults to the experiment name.",
    )  # fmt: skip
    base_params = serializers.DictField(
        required=False, default=dict, help_text="Parameters every trial shares."
    )
    space = serializers.DictField(help_text=SPACE_HELP)
    strategy = serializers.ChoiceField(choices=Strategy.choices, default=Strategy.GRID)
    max_trials = serializers.IntegerField(min_value=1, max_value=MAX_TRIALS, default=10)
    max_parallel = serializers.IntegerField(min_value=1, max_value=MAX_TRIALS, default=1)
    metric = serializers.CharField(
        max_length=100,
        help_text="classification: accuracy, f1, roc_auc, log_loss, val_loss; "
        "regression: rmse, mae, r2, val_loss.",
    )
    direction = serializers.ChoiceField(
        choices=Direction.choices, required=False, allow_blank=True, default="",
        help_text="Defaults by metric: min for losses, rmse and mae; max otherwise.",
    )  # fmt: skip
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)

    def get_fields(self) -> dict:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            from apps.datasets.selectors import dataset_version_list

            fields["dataset_version"].queryset = dataset_version_list(user=request.user)
        return fields


class ProgressSerializer(serializers.Serializer):
    planned = serializers.IntegerField()
    launched = serializers.IntegerField()
    queued = serializers.IntegerField()
    running = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="1 = best; null: not ranked yet.")
    trial = serializers.IntegerField(help_text="Index in the plan.")
    training_job = serializers.IntegerField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    params = serializers.DictField(help_text="This trial's parameters from the plan.")
    metric_value = serializers.FloatField(allow_null=True)
    metrics = serializers.DictField()


class SweepSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    experiment = serializers.CharField(source="experiment.name", read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Sweep
        fields = [
            "id", "project", "name", "experiment", "dataset_version", "target", "task",
            "template", "model_name", "base_params", "space", "strategy", "max_trials",
            "max_parallel", "metric", "direction", "seed", "status", "progress", "created_by",
            "created_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, sweep: Sweep) -> dict[str, int]:
        return selectors.sweep_progress(sweep)


class SweepDetailSerializer(SweepSerializer):
    plan = serializers.ListField(child=serializers.DictField(), read_only=True)
    best = serializers.SerializerMethodField()
    leaderboard = serializers.SerializerMethodField()

    class Meta(SweepSerializer.Meta):
        fields = [*SweepSerializer.Meta.fields, "plan", "best", "leaderboard"]
        read_only_fields = fields

    def _rows(self, sweep: Sweep) -> list[dict[str, Any]]:
        if "rows" not in self.context:  # best and leaderboard share one query
            self.context["rows"] = selectors.sweep_leaderboard_rows(sweep=sweep)
        return self.context["rows"]

    @extend_schema_field(LeaderboardRowSerializer(allow_null=True))
    def get_best(self, sweep: Sweep) -> dict[str, Any] | None:
        rows = self._rows(sweep)
        return rows[0] if rows and rows[0]["rank"] == 1 else None

    @extend_schema_field(LeaderboardRowSerializer(many=True))
    def get_leaderboard(self, sweep: Sweep) -> list[dict[str, Any]]:
        return self._rows(sweep)


class SweepFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="project__slug")
    status = django_filters.ChoiceFilter(choices=SweepStatus.choices)

    class Meta:
        model = Sweep
        fields = ["project", "status", "experiment", "template"]


class SweepViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Sweeps: a hyper-parameter search over a template, run as training jobs."""

    queryset = Sweep.objects.none()
    serializer_class = SweepSerializer
    filterset_class = SweepFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return selectors.sweep_list(user=self.request.user)

    def get_serializer_class(self):
        return SweepSerializer if self.action == "list" else SweepDetailSerializer

    def _answer(self, sweep: Sweep, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=sweep.pk)
        return Response(
            SweepDetailSerializer(fresh, context=self.get_serializer_context()).data, code
        )

    @extend_schema(request=SweepCreateSerializer, responses={201: SweepDetailSerializer})
    def create(self, request):
        data = SweepCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        self.require_project_role(values["project"], Role.CONTRIBUTOR)
        sweep = services.sweep_create(actor=request.user, **values)
        return self._answer(sweep, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=SweepDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        sweep = services.sweep_cancel(actor=request.user, sweep=self.get_object())
        return self._answer(sweep)
