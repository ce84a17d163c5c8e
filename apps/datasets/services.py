"""Writes for datasets, versions and validation rules. Each audits itself in its transaction."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from rest_framework.exceptions import APIException, ValidationError

from apps.core.models import Project
from apps.core.services.audit import audit_record
from apps.core.services.jobs import job_create
from apps.datasets import storage
from apps.datasets.models import (
    VERSION_TRANSITIONS,
    Dataset,
    DatasetVersion,
    ValidationRule,
    VersionStatus,
)
from apps.datasets.uploads import HashedUploadedFile
from workers.datasets import DatasetError, detect_format


class ContentExists(APIException):
    status_code = 409
    default_code = "content_exists"


class IllegalVersionTransition(APIException):
    status_code = 409
    default_code = "illegal_transition"


@transaction.atomic
def dataset_create(
    *, actor: AbstractBaseUser, project: Project, name: str, description: str = ""
) -> Dataset:
    taken = ValidationError({"name": [f"Project '{project.slug}' already has a dataset '{name}'."]})
    if Dataset.objects.filter(project=project, name=name).exists():
        raise taken
    try:
        with transaction.atomic():
            dataset = Dataset.objects.create(
                project=project, name=name, description=description, owner=actor
            )
    except IntegrityError as exc:
        raise taken from exc
    audit_record(
        actor=actor,
        action="dataset.create",
        obj=dataset,
        project=project,
        changes={"name": name, "description": description},
    )
    return dataset


@transaction.atomic
def dataset_update(*, actor: AbstractBaseUser, dataset: Dataset, **fields: str) -> Dataset:
    dataset = Dataset.objects.select_for_update().select_related("project").get(pk=dataset.pk)
    changes = {}
    for field in ("name", "description"):
        if field in fields and fields[field] != getattr(dataset, field):
            changes[field] = {"from": getattr(dataset, field), "to": fields[field]}
            setattr(dataset, field, fields[field])
    if "name" in changes and (
        Dataset.objects.filter(project=dataset.project, name=dataset.name)
        .exclude(pk=dataset.pk)
        .exists()
    ):
        raise ValidationError({"name": [f"This project already has a dataset '{dataset.name}'."]})
    if changes:
        dataset.save(update_fields=list(changes))
        audit_record(
            actor=actor,
            action="dataset.update",
            obj=dataset,
            project=dataset.project,
            changes=changes,
        )
    return dataset


def dataset_version_upload(
    *, actor: AbstractBaseUser, dataset: Dataset, upload: HashedUploadedFile, note: str = ""
) -> DatasetVersion:
    """Store the upload's bytes (once per content) and queue its processing.

    The same bytes uploaded again to the same dataset are refused with 409 naming the existing
    version; in another dataset they become a new version pointing at the same blob.
    """
    try:
        fmt = detect_format(upload.path)
    except DatasetError as exc:
        raise ValidationError({"file": [str(exc)]}) from exc
    with transaction.atomic():
        # Lock the dataset: version numbers are handed out one at a time.
        locked = Dataset.objects.select_for_update().select_related("project").get(pk=dataset.pk)
        existing = (
            DatasetVersion.objects.filter(dataset=locked, content_hash=upload.sha256)
            .order_by("version")
            .first()
        )
        if existing is not None:
            message = f"This content already exists as version {existing.version}."
            conflict = ContentExists(message)
            conflict.payload = {"detail": message, "version": existing.version, "id": existing.pk}
            raise conflict
        number = (locked.versions.aggregate(n=Max("version"))["n"] or 0) + 1
        version = DatasetVersion.objects.create(
            dataset=locked,
            version=number,
            content_hash=upload.sha256,
            size_bytes=upload.size,
            format=fmt,
            filename=(upload.name or "")[:255],
            note=note,
            created_by=actor,
        )
        job = job_create(
            project=locked.project,
            kind="datasets.process",
            params={"version_id": version.pk},
            actor=actor,
        )
        version.job = job
        version.save(update_fields=["job"])
        audit_record(
            actor=actor,
            action="dataset_version.create",
            obj=version,
            project=locked.project,
            changes={
                "dataset": locked.name,
                "version": number,
                "content_hash": upload.sha256,
                "size_bytes": upload.size,
                "format": fmt,
                "note": note,
            },
        )
        # Last step inside the transaction: if anything above failed, the temp file is simply
        # dropped with the request, and a blob written here is harmless (content-addressed).
        storage.blob_put(temp_path=upload.path, content_hash=upload.sha256)
    return version


def _transition(version: DatasetVersion, to: str) -> str:
    if to not in VERSION_TRANSITIONS.get(version.status, ()):
        raise IllegalVersionTransition(
            {"status": [f"A {version.status} version cannot become {to}."]}
        )
    previous, version.status = version.status, to
    return previous


@transaction.atomic
def dataset_version_start(*, version_id: int) -> DatasetVersion:
    version = (
        DatasetVersion.objects.select_for_update()
        .select_related("dataset__project")
        .get(pk=version_id)
    )
    previous = _transition(version, VersionStatus.PROCESSING)
    version.save(update_fields=["status"])
    _audit_status(version, previous)
    return version


@transaction.atomic
def dataset_version_complete(*, version_id: int, result: dict[str, Any]) -> DatasetVersion:
    version = (
        DatasetVersion.objects.select_for_update()
        .select_related("dataset__project")
        .get(pk=version_id)
    )
    previous = _transition(version, VersionStatus.READY)
    for field in ("row_count", "column_count", "schema", "profile", "validation"):
        setattr(version, field, result[field])
    version.validation_passed = result["validation_passed"]
    version.processed_at = timezone.now()
    version.save()
    _audit_status(
        version,
        previous,
        row_count=version.row_count,
        validation_passed=version.validation_passed,
    )
    return version


def dataset_version_fail(*, version_id: int, reason: str) -> DatasetVersion | None:
    """Mark a version failed unless it already ended; called in the job's ending transaction."""
    with transaction.atomic():
        version = (
            DatasetVersion.objects.select_for_update()
            .select_related("dataset__project")
            .filter(pk=version_id)
            .first()
        )
        if version is None or version.status in (VersionStatus.READY, VersionStatus.FAILED):
            return version
        previous = _transition(version, VersionStatus.FAILED)
        version.error = reason[:5000]
        version.processed_at = timezone.now()
        version.save(update_fields=["status", "error", "processed_at"])
        _audit_status(version, previous, error=version.error[:500])
    return version


def _audit_status(version: DatasetVersion, previous: str, **extra: Any) -> None:
    audit_record(
        actor=None,
        action=f"dataset_version.{version.status}",
        obj=version,
        project=version.dataset.project,
        changes={"status": {"from": previous, "to": version.status}, **extra},
    )


@transaction.atomic
def validation_rule_create(
    *,
    actor: AbstractBaseUser,
    dataset: Dataset,
    kind: str,
    column: str = "",
    params: dict | None = None,
) -> ValidationRule:
    rule = ValidationRule.objects.create(
        dataset=dataset, kind=kind, column=column, params=params or {}, created_by=actor
    )
    audit_record(
        actor=actor,
        action="validation_rule.create",
        obj=rule,
        project=dataset.project,
        changes={"dataset": dataset.name, **rule.as_spec()},
    )
    return rule


@transaction.atomic
def validation_rule_update(
    *, actor: AbstractBaseUser, rule: ValidationRule, **fields: Any
) -> ValidationRule:
    rule = (
        ValidationRule.objects.select_for_update()
        .select_related("dataset__project")
        .get(pk=rule.pk)
    )
    before = rule.as_spec()
    for field in ("kind", "column", "params"):
        if field in fields:
            setattr(rule, field, fields[field])
    rule.save()
    audit_record(
        actor=actor,
        action="validation_rule.update",
        obj=rule,
        project=rule.dataset.project,
        changes={"from": before, "to": rule.as_spec()},
    )
    return rule


@transaction.atomic
def validation_rule_delete(*, actor: AbstractBaseUser, rule: ValidationRule) -> None:
    rule = ValidationRule.objects.select_related("dataset__project").get(pk=rule.pk)
    spec, project, rule_id = rule.as_spec(), rule.dataset.project, rule.pk
    rule.delete()
    audit_record(
        actor=actor,
        action="validation_rule.delete",
        object_type="datasets.validationrule",
        object_id=rule_id,
        project=project,
        changes=spec,
    )
