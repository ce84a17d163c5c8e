"""Dataset version compute: read a CSV or Parquet file in one streaming pass and return its
schema, profile and validation results; compare two versions. Free of Django on purpose so a
Celery task (or a notebook) can call it with nothing but numpy and pyarrow installed."""

from workers.datasets.diff import diff_versions
from workers.datasets.errors import DatasetError, Limits
from workers.datasets.process import process_file
from workers.datasets.sniff import detect_format

__all__ = ["DatasetError", "Limits", "detect_format", "diff_versions", "process_file"]
