from __future__ import annotations

import hashlib
import io

from apps.core.services.jobs import job_run
from apps.datasets.models import DatasetVersion


def csv_file(text: str, name: str = "data.csv") -> io.BytesIO:
    handle = io.BytesIO(text.encode() if isinstance(text, str) else text)
    handle.name = name
    return handle


def sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def upload(client, dataset_id: int, data: bytes | str, name: str = "data.csv", note: str = ""):
    return client.post(
        f"/api/v1/datasets/{dataset_id}/versions/",
        {"file": csv_file(data, name), "note": note},
        format="multipart",
    )


def process(version_id: int) -> DatasetVersion:
    """Run the version's processing job here, as a worker would."""
    version = DatasetVersion.objects.get(pk=version_id)
    job_run(job_id=version.job_id, worker="test")
    version.refresh_from_db()
    return version
