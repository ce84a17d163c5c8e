"""What a retraining starts from and trains on: the production version (its template and
parameters), and either the latest valid version of its dataset or a new version of that
dataset made of the reference rows plus recently labelled predictions."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F

from apps.datasets import storage
from apps.datasets.models import Dataset, DatasetVersion, VersionStatus
from apps.datasets.services import ContentExists, dataset_version_upload
from apps.datasets.uploads import HashedUploadedFile
from apps.deployments.models import PredictionLog
from apps.registry.models import ModelVersion, RegisteredModel, Stage

# Labelled predictions are read in chunks of this many rows (values only, no model objects).
CHUNK_ROWS = 5000


class NoData(Exception):
    """Nothing to train on; the message says why (it becomes the skipped run's reason)."""


def production_version(model: RegisteredModel) -> ModelVersion | None:
    """The version in production (one at most by constraint; the newest move wins if not)."""
    return (
        ModelVersion.objects.select_related(
            "training_job__experiment", "dataset_version__dataset", "registered_model"
        )
        .filter(registered_model=model, stage=Stage.PRODUCTION)
        .order_by(F("stage_changed_at").desc(nulls_last=True), "-version")
        .first()
    )


def latest_valid_version(dataset: Dataset) -> DatasetVersion | None:
    """Newest ready version whose validation did not fail (passed, or no rules to check)."""
    return (
        DatasetVersion.objects.select_related("dataset")
        .filter(dataset=dataset, status=VersionStatus.READY)
        .exclude(validation_passed=False)
        .order_by("-version")
        .first()
    )


def _labelled_frame(*, model: RegisteredModel, since: datetime, target: str) -> pd.DataFrame:
    rows = (
        PredictionLog.objects.filter(
            deployment__registered_model=model,
            shadow=False,
            error="",
            label__isnull=False,
            labelled_at__gte=since,
        )
        .order_by("id")
        .values_list("inputs", "label")
    )
    frames, chunk = [], []
    for inputs, label in rows.iterator(chunk_size=CHUNK_ROWS):
        if isinstance(inputs, dict) and label is not None:
            chunk.append({**inputs, target: label})
        if len(chunk) >= CHUNK_ROWS:
            frames.append(pd.DataFrame.from_records(chunk))
            chunk = []
    if chunk:
        frames.append(pd.DataFrame.from_records(chunk))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def reference_plus_labelled(
    *,
    actor: AbstractBaseUser,
    base: ModelVersion,
    since: datetime,
    note: str,
) -> DatasetVersion:
    """A new version of the base version's dataset: its rows plus the predictions of the model's
    deployments labelled since `since` (inputs + label as the target column), uploaded like any
    file (so it is processed and validated by the datasets job). The same content uploaded
    before answers that existing version instead."""
    from workers.training.data import read_table

    reference = base.dataset_version
    target = base.training_job.target
    labelled = _labelled_frame(model=base.registered_model, since=since, target=target)
    if labelled.empty:
        raise NoData(
            f"No predictions of {base.registered_model.name} were labelled since "
            f"{since:%Y-%m-%d %H:%M} UTC: nothing to add to the reference data."
        )
    table = read_table(storage.blob_verify(reference.content_hash), reference.format)
    frame = table.to_pandas()
    # The reference's columns, in its order: inputs the reference lacks are not features the
    # template knows, and a feature a prediction lacks is a missing value.
    combined = pd.concat([frame, labelled.reindex(columns=frame.columns)], ignore_index=True)
    fd, name = tempfile.mkstemp(prefix="retrain-", suffix=".csv", dir=storage.tmp_dir())
    os.close(fd)
    path = Path(name)
    combined.to_csv(path, index=False)
    upload = HashedUploadedFile.from_path(path, f"{reference.dataset.name}-retrain.csv")
    try:
        return dataset_version_upload(
            actor=actor, dataset=reference.dataset, upload=upload, note=note
        )
    except ContentExists as exists:
        return DatasetVersion.objects.select_related("dataset").get(pk=exists.payload["id"])
    finally:
        upload.close()
