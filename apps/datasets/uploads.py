"""Uploads go straight to a temp file under ARTIFACT_ROOT, hashed on the way, never held whole
in memory, and refused (413) as soon as they pass the configured size limit."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from rest_framework.exceptions import APIException

from apps.datasets import storage

# Room for the multipart framing and the other fields around the file.
MULTIPART_SLACK = 64 * 1024


class UploadTooLarge(APIException):
    status_code = 413
    default_code = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__({"file": [f"The file is larger than the limit of {limit:,} bytes."]})


class HashedUploadedFile(UploadedFile):
    def __init__(self, path: Path, name: str, size: int, sha256: str, content_type: str) -> None:
        super().__init__(open(path, "rb"), name, content_type, size)  # noqa: SIM115
        self.path = path
        self.sha256 = sha256

    @classmethod
    def from_path(cls, path: Path, name: str, content_type: str = "text/csv") -> HashedUploadedFile:
        """A file the portal wrote itself (under storage.tmp_dir()), uploaded like a browser's."""
        return cls(path, name, path.stat().st_size, storage.file_sha256(path), content_type)

    def temporary_file_path(self) -> str:
        return str(self.path)

    def close(self) -> None:
        # Unless a service moved it into the blob store, the temp file goes with the request.
        try:
            self.file.close()
        finally:
            self.path.unlink(missing_ok=True)


class HashingUploadHandler(FileUploadHandler):
    chunk_size = 1 << 20

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict,
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        limit = settings.MAX_UPLOAD_BYTES
        if content_length and content_length > limit + MULTIPART_SLACK:
            raise UploadTooLarge(limit)

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        fd, name = tempfile.mkstemp(prefix="upload-", dir=storage.tmp_dir())
        self.temp = os.fdopen(fd, "wb")
        self.temp_path = Path(name)
        self.digest = hashlib.sha256()
        self.size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        if self.size > settings.MAX_UPLOAD_BYTES:
            self._discard()
            raise UploadTooLarge(settings.MAX_UPLOAD_BYTES)
        self.digest.update(raw_data)
        self.temp.write(raw_data)

    def file_complete(self, file_size: int) -> HashedUploadedFile:
        self.temp.close()
        return HashedUploadedFile(
            self.temp_path, self.file_name, self.size, self.digest.hexdigest(), self.content_type
        )

    def upload_interrupted(self) -> None:
        self._discard()

    def _discard(self) -> None:
        if getattr(self, "temp", None) is not None:
            self.temp.close()
            self.temp_path.unlink(missing_ok=True)
