"""The processing job of a dataset version: parse, infer the schema, profile, validate."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from apps.core.jobs import JobContext, register_job_kind
from apps.datasets import storage
from apps.datasets.models import DatasetVersion
from apps.datasets.services import (
    dataset_version_complete,
    dataset_version_fail,
    dataset_version_start,
)


class ProcessParams(serializers.Serializer):
    version_id = serializers.IntegerField(min_value=1)


def _on_unsuccessful_end(job: Any, reason: str) -> None:
    version_id = job.params.get("version_id")
    if version_id:
        dataset_version_fail(version_id=version_id, reason=reason)


@register_job_kind(
    "datasets.process",
    queue="default",
    params=ProcessParams,
    on_unsuccessful_end=_on_unsuccessful_end,
)
def process_version(ctx: JobContext) -> dict[str, Any]:
    """Parses a dataset version, infers its schema and profile, and runs its validation rules."""
    from workers.datasets import Limits, process_file

    version = dataset_version_start(version_id=ctx.params["version_id"])
    ctx.progress(0.05, "checking the stored file")
    path = storage.blob_verify(version.content_hash)
    rules = [rule.as_spec() for rule in version.dataset.rules.all().order_by("id")]
    ctx.progress(0.1, "profiling")
    result = process_file(
        path,
        rules,
        fmt=version.format,
        limits=Limits(
            max_columns=settings.DATASET_MAX_COLUMNS, block_size=settings.DATASET_BLOCK_SIZE
        ),
    )
    dataset_version_complete(version_id=version.pk, result=result)
    return {
        "version_id": version.pk,
        "row_count": result["row_count"],
        "validation_passed": result["validation_passed"],
    }


__all__ = ["DatasetVersion", "process_version"]
