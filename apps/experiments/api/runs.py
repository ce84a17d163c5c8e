"""`/api/v1/runs/`: every MLflow run of your projects' experiments (portal jobs and external
scripts alike), filtered and sorted by any metric or parameter; compare 2-10 runs; sync now."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.core.api.base import ProjectScopedViewSet
from apps.experiments.filters import RunFilterForm, parse_ids
from apps.experiments.models import Run, RunStatus
from apps.experiments.selectors import runs as selectors
from apps.experiments.selectors.runs import compare_table
from apps.experiments.services.runs import runs_sync


class RunSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="experiment.project.slug", read_only=True)
    experiment_name = serializers.CharField(source="experiment.name", read_only=True)
    dataset_version_label = serializers.SerializerMethodField()
    duration_seconds = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id", "mlflow_run_id", "name", "project", "experiment", "experiment_name", "status",
            "external", "training_job", "dataset_version", "dataset_version_label", "template",
            "user", "params", "metrics", "tags", "start_time", "end_time", "duration_seconds",
            "url", "synced_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_dataset_version_label(self, run: Run) -> str | None:
        version = run.dataset_version
        return f"{version.dataset.name} v{version.version}" if version is not None else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration_seconds(self, run: Run) -> float | None:
        if run.start_time and run.end_time:
            return (run.end_time - run.start_time).total_seconds()
        return None

    def get_url(self, run: Run) -> str:
        return reverse("run", args=[run.pk])


class RunListSerializer(RunSerializer):
    class Meta(RunSerializer.Meta):
        fields = [f for f in RunSerializer.Meta.fields if f != "tags"]
        read_only_fields = fields


class CompareSerializer(serializers.Serializer):
    runs = RunListSerializer(many=True)
    params = serializers.DictField(
        help_text="Per parameter: {values: one per run (null when absent), differs}."
    )
    metrics = serializers.DictField(
        help_text="Per metric: {values: one per run, differs, best: index of the best run}."
    )
    histories = serializers.DictField(
        help_text="Per run id, per metric: [[step, value], ...] read from MLflow."
    )


class SyncSerializer(serializers.Serializer):
    full = serializers.BooleanField()
    experiments = serializers.IntegerField()
    runs = serializers.IntegerField()
    deleted = serializers.IntegerField()
    created_experiments = serializers.ListField(child=serializers.CharField())
    unmapped_experiments = serializers.ListField(child=serializers.CharField())


FILTER_PARAMETERS = [
    OpenApiParameter("project", str, description="Project slug."),
    OpenApiParameter("experiment", int),
    OpenApiParameter("status", str, many=True, enum=RunStatus.values),
    OpenApiParameter("dataset", int, description="Dataset id (any of its versions)."),
    OpenApiParameter("dataset_version", int),
    OpenApiParameter("template", str),
    OpenApiParameter("external", bool, description="Only runs logged outside the portal (or not)."),
    OpenApiParameter("param", str, many=True, description="NAME:VALUE, repeatable."),
    OpenApiParameter("search", str, description="Part of the run name."),
    OpenApiParameter(
        "ordering", str,
        description="start_time, end_time, name, status, experiment, template, metrics.NAME or "
        "params.NAME; a leading - sorts descending. Runs without the value come last.",
    ),
]  # fmt: skip


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """MLflow runs of your projects: portal training jobs and runs logged by scripts
    (`mlflow.set_experiment("PROJECT/EXPERIMENT")`), which the sync marks `external`."""

    project_path = "experiment__project"
    queryset = Run.objects.none()
    serializer_class = RunSerializer
    filter_backends: list = []  # the runs filter form below reads the query string
    read_actions = ("list", "retrieve", "compare")

    def get_serializer_class(self):
        return RunListSerializer if self.action == "list" else RunSerializer

    def get_queryset(self):
        if self.action != "list":
            return selectors.run_list(user=self.request.user)
        form = RunFilterForm(self.request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors)
        return selectors.run_search(user=self.request.user, filters=form.run_filters())

    @extend_schema(parameters=FILTER_PARAMETERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "ids",
                OpenApiTypes.STR,
                required=True,
                description="2 to 10 run ids, comma-separated.",
            )
        ],
        responses=CompareSerializer,
    )
    @action(detail=False, methods=["get"])
    def compare(self, request):
        ids = parse_ids(request.query_params.getlist("ids"))
        found = {run.pk: run for run in selectors.run_list(user=request.user).filter(pk__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationError({"ids": [f"No run {i} in your projects." for i in missing]})
        runs = [found[i] for i in ids]
        keys = [k for k in selectors.metric_keys(runs) if not k.startswith("resources/")]
        histories = selectors.metric_histories(runs, keys)
        return Response(
            {
                "runs": RunListSerializer(runs, many=True).data,
                "params": compare_table(runs, "params"),
                "metrics": compare_table(runs, "metrics", best=True),
                "histories": {str(k): v for k, v in histories.items()},
            }
        )

    @extend_schema(request=None, responses=SyncSerializer)
    @action(detail=False, methods=["post"])
    def sync(self, request):
        """Mirror new and running MLflow runs now (the periodic task does it every minute)."""
        return Response(runs_sync().as_dict())
