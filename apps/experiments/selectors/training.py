from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet

from apps.core.permissions import scope_to_member_projects
from apps.experiments.models import Experiment, TrainingJob


def training_job_list(*, user: AbstractBaseUser) -> QuerySet[TrainingJob]:
    return scope_to_member_projects(
        TrainingJob.objects.select_related(
            "job", "experiment__project", "dataset_version__dataset", "created_by", "model_version"
        ),
        user,
        "experiment__project",
    )


def experiment_list(*, user: AbstractBaseUser) -> QuerySet[Experiment]:
    return scope_to_member_projects(
        Experiment.objects.select_related("project").annotate(job_count=Count("jobs")),
        user,
    ).order_by("project__slug", "name")
