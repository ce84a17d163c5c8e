"""Calendar months in UTC, the unit of budgets and cost reports."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from django.utils import timezone

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def current_month(now: datetime | None = None) -> date:
    now = (now or timezone.now()).astimezone(UTC)
    return date(now.year, now.month, 1)


def parse_month(value: str | None) -> date:
    """`YYYY-MM` to the first day of that month; empty means this month. ValueError otherwise."""
    if not value:
        return current_month()
    match = _MONTH.match(value)
    if not match or not (1 <= int(match[2]) <= 12) or not (1970 <= int(match[1]) <= 9998):
        raise ValueError("Use the form YYYY-MM, e.g. 2025-03.")
    return date(int(match[1]), int(match[2]), 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of the month as aware UTC datetimes."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    following = next_month(month)
    return start, datetime(following.year, following.month, 1, tzinfo=UTC)
