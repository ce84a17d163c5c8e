"""Continuous training: triggers, the cooldown and one-in-flight rules, launching the training
job and, when it succeeds, opening the promotion request to staging."""

from __future__ import annotations

from apps.monitoring.models import RetrainRun


def retrain_on_alert(*, alert_id: int) -> RetrainRun | None:
    """Called on commit for every newly opened drift alert."""
    return None
