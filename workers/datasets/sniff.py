"""What kind of file this is, from its first bytes: refuse the ones that cannot be a dataset."""

from __future__ import annotations

import codecs
from pathlib import Path

from workers.datasets.errors import DatasetError

SNIFF_BYTES = 64 << 10

# Binary formats people upload by mistake, so the message can say what the file actually is.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one too)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document (.xls)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"(\xb5/\xfd", "a zstd archive"),
    (b"7z\xbc\xaf'\x1c", "a 7-Zip archive"),
    (b"ARROW1", "an Arrow IPC file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)


def detect_format(path: Path) -> str:
    """Return "csv" or "parquet" from the file's first bytes (the name's suffix is not trusted)."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head:
        raise DatasetError("The file is empty (0 bytes).")
    if head.startswith(b"PAR1"):
        return "parquet"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            hint = " Save it as UTF-8." if "UTF-16" in what else ""
            raise DatasetError(
                f"This file is {what}, not a CSV or Parquet file.{hint} "
                "Upload a CSV (UTF-8 text) or a Parquet file."
            )
    if b"\x00" in head:
        raise DatasetError(
            "This file contains binary data (NUL bytes), so it is not a CSV text file, and it "
            "is not a Parquet file either. Upload a CSV (UTF-8 text) or a Parquet file."
        )
    return "csv"


def check_utf8_head(path: Path) -> None:
    """Reject non-UTF-8 text up front with the line it is on: pyarrow only notices it in text
    columns, and in the header not at all (it substitutes the bytes)."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
        final = not f.read(1)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=final)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        bad = head[exc.start : exc.start + 1].hex()
        raise DatasetError(
            f"The file is not UTF-8 text: line {line} contains the byte 0x{bad} (the file was "
            'probably saved as Latin-1/Windows-1252). Save it as UTF-8 (in Excel: "CSV UTF-8") '
            "and upload it again."
        ) from exc
