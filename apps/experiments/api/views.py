from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.base import ProjectScopedViewSet
from apps.core.models import JobStatus, Role
from apps.experiments import selectors, services
from apps.experiments.api import serializers as s
from apps.experiments.models import Experiment, TrainingJob


class TrainingJobFilter(django_filters.FilterSet):
    project = django_filters.CharFilter(field_name="experiment__project__slug")
    experiment = django_filters.CharFilter(field_name="experiment__name")
    status = django_filters.MultipleChoiceFilter(
        field_name="job__status", choices=JobStatus.choices
    )

    class Meta:
        model = TrainingJob
        fields = ["project", "experiment", "status", "dataset_version", "template", "task"]


class TrainingJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Training jobs: launch a template on a ready dataset version, watch it, cancel or rerun it."""

    project_path = "experiment__project"
    queryset = TrainingJob.objects.none()
    serializer_class = s.TrainingJobSerializer
    filterset_class = TrainingJobFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return selectors.training_job_list(user=self.request.user)

    def _answer(self, training: TrainingJob, code: int = status.HTTP_200_OK) -> Response:
        return Response(s.TrainingJobSerializer(self.get_queryset().get(pk=training.pk)).data, code)

    @extend_schema(request=s.TrainingJobCreateSerializer, responses={201: s.TrainingJobSerializer})
    def create(self, request):
        data = s.TrainingJobCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        self.require_project_role(values["project"], Role.CONTRIBUTOR)
        training = services.training_job_create(actor=request.user, **values)
        return self._answer(training, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.TrainingJobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        training = services.training_job_cancel(actor=request.user, training=self.get_object())
        return self._answer(training)

    @extend_schema(request=None, responses={201: s.TrainingJobSerializer})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        training = services.training_job_rerun(actor=request.user, training=self.get_object())
        return self._answer(training, status.HTTP_201_CREATED)


class ExperimentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectScopedViewSet):
    """Experiments of your projects (created by launching a training job into them)."""

    queryset = Experiment.objects.none()
    serializer_class = s.ExperimentSerializer
    filterset_fields = ["name"]

    def get_queryset(self):
        return selectors.experiment_list(user=self.request.user)


class TemplateViewSet(viewsets.ViewSet):
    """Built-in model templates and the parameters each accepts (with defaults and ranges)."""

    @extend_schema(responses=s.TemplateSerializer(many=True))
    def list(self, request):
        from workers.training import param_schema, template_names

        return Response([{"name": n, "params": param_schema(n)} for n in template_names()])
