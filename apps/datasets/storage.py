"""Content-addressed blob store under ARTIFACT_ROOT: a blob's path is its SHA-256."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

CHUNK = 1 << 20


class CorruptBlob(Exception):
    pass


class MissingBlob(Exception):
    pass


def root() -> Path:
    return Path(settings.ARTIFACT_ROOT)


def tmp_dir() -> Path:
    path = root() / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def blob_path(content_hash: str) -> Path:
    return root() / "blobs" / "sha256" / content_hash[:2] / content_hash


def blob_put(*, temp_path: Path, content_hash: str) -> bool:
    """Move an uploaded temp file into the store. False when the blob was already there."""
    dest = blob_path(content_hash)
    if dest.exists():
        temp_path.unlink(missing_ok=True)
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Same filesystem (tmp/ lives under the root), so the rename is atomic: readers never see
    # a half-written blob, and a concurrent identical upload just replaces equal bytes.
    os.replace(temp_path, dest)
    dest.chmod(0o444)
    return True


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def blob_verify(content_hash: str) -> Path:
    """The blob's path after checking its bytes still hash to its name."""
    path = blob_path(content_hash)
    if not path.exists():
        raise MissingBlob(f"The stored file for {content_hash[:12]} is missing.")
    actual = file_sha256(path)
    if actual != content_hash:
        raise CorruptBlob(
            f"The stored file is corrupted: its SHA-256 is {actual[:12]}…, "
            f"expected {content_hash[:12]}…."
        )
    return path


def blob_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk
