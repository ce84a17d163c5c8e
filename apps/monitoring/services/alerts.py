"""Alert rules and alert episodes: evaluate a stored report, acknowledge, resolve."""

from __future__ import annotations

from apps.monitoring.models import Alert, DriftReport


def alerts_evaluate(*, report: DriftReport) -> list[Alert]:
    """Called inside the transaction that stores `report`; returns the alerts it opened."""
    return []
