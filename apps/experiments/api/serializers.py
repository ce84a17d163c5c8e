from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.serializers import ProjectField
from apps.datasets.models import DatasetVersion
from apps.experiments.models import Experiment, Task, TrainingJob


class ExperimentSerializer(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    job_count = serializers.IntegerField(read_only=True)
    mlflow_name = serializers.CharField(
        read_only=True, help_text="Log to it from scripts with mlflow.set_experiment(mlflow_name)."
    )

    class Meta:
        model = Experiment
        fields = [
            "id", "project", "name", "mlflow_name", "mlflow_experiment_id", "job_count",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class TrainingJobCreateSerializer(serializers.Serializer):
    project = ProjectField()
    experiment = serializers.CharField(max_length=200)
    dataset_version = serializers.PrimaryKeyRelatedField(queryset=DatasetVersion.objects.none())
    target = serializers.CharField(max_length=200)
    task = serializers.ChoiceField(choices=Task.choices)
    template = serializers.CharField(max_length=50, help_text="See /api/v1/training-templates/")
    params = serializers.DictField(required=False, default=dict)
    model_name = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text="Registered model name; defaults to the experiment name.",
    )  # fmt: skip

    def get_fields(self) -> dict:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            from apps.datasets.selectors import dataset_version_list

            fields["dataset_version"].queryset = dataset_version_list(user=request.user)
        return fields


class TrainingJobSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="experiment.project.slug", read_only=True)
    experiment = serializers.CharField(source="experiment.name", read_only=True)
    status = serializers.CharField(source="job.status", read_only=True)
    progress = serializers.FloatField(source="job.progress", read_only=True)
    message = serializers.CharField(source="job.message", read_only=True)
    error = serializers.CharField(source="job.error", read_only=True)
    queue = serializers.CharField(source="job.queue", read_only=True)
    started_at = serializers.DateTimeField(source="job.started_at", read_only=True)
    finished_at = serializers.DateTimeField(source="job.finished_at", read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    model_version = serializers.SerializerMethodField()

    class Meta:
        model = TrainingJob
        fields = [
            "id", "project", "experiment", "dataset_version", "target", "task", "template",
            "params", "model_name", "status", "progress", "message", "current_epoch", "epochs",
            "metrics", "history", "mlflow_run_id", "model_version", "resources", "cost", "error",
            "queue", "job", "rerun_of", "created_by", "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_model_version(self, training: TrainingJob) -> int | None:
        version = getattr(training, "model_version", None)
        return version.pk if version is not None else None


class TemplateSerializer(serializers.Serializer):
    name = serializers.CharField()
    params = serializers.DictField()
