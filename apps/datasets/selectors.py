from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet

from apps.core.permissions import scope_to_member_projects
from apps.datasets.models import Dataset, DatasetVersion, ValidationRule


def dataset_list(*, user: AbstractBaseUser) -> QuerySet[Dataset]:
    return scope_to_member_projects(
        Dataset.objects.select_related("project", "owner")
        .annotate(version_count=Count("versions"))
        .order_by("project__slug", "name"),
        user,
    )


def dataset_version_list(*, user: AbstractBaseUser) -> QuerySet[DatasetVersion]:
    return scope_to_member_projects(
        DatasetVersion.objects.select_related("dataset__project", "created_by"),
        user,
        "dataset__project",
    )


def validation_rule_list(*, user: AbstractBaseUser) -> QuerySet[ValidationRule]:
    return scope_to_member_projects(
        ValidationRule.objects.select_related("dataset__project", "created_by"),
        user,
        "dataset__project",
    )


def previous_version(version: DatasetVersion) -> DatasetVersion | None:
    return (
        DatasetVersion.objects.filter(dataset_id=version.dataset_id, version__lt=version.version)
        .order_by("-version")
        .first()
    )
