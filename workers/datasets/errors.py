"""The one exception the portal shows to people, and the knobs that bound a run's memory."""

from __future__ import annotations

from dataclasses import dataclass


class DatasetError(Exception):
    """A file the portal refuses, with a message a person can act on (shown in the UI as the
    version's failure reason), e.g. "Row 7 has 3 fields; the header has 4." """


@dataclass
class Limits:
    max_columns: int = 2000
    block_size: int = 16 << 20  # bytes per pyarrow CSV block
    sample_size: int = 100_000  # reservoir per numeric column for quantiles/histogram
    max_tracked_categories: int = 10_000  # beyond this a string column is "high cardinality"
