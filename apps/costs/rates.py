"""Hourly rates: training devices from the Rate table (falling back to settings), serving from
settings. Every amount is in COST_CURRENCY."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from apps.costs.models import Rate


def default_rate(device: str) -> Decimal:
    """The settings' rate: COST_PER_HOUR_<DEVICE>, else the CPU rate (as training always did)."""
    value = getattr(settings, f"COST_PER_HOUR_{device.upper()}", None)
    if not isinstance(value, int | float | Decimal):
        value = settings.COST_PER_HOUR_CPU
    return Decimal(str(value))


def hourly_rate(device: str) -> Decimal:
    row = Rate.objects.filter(device=device).values_list("cost_per_hour", flat=True).first()
    return row if row is not None else default_rate(device)


def training_cost(resources: dict) -> Decimal:
    """A training job's cost from the resources it reported: wall-clock hours x device rate."""
    device = str(resources.get("device") or "cpu")
    hours = Decimal(str(resources.get("wall_seconds") or 0)) / 3600
    return (hours * hourly_rate(device)).quantize(Decimal("0.0001"))


def serving_rate() -> float:
    """What one deployment costs per hour of serving; 0 means serving cost is not configured."""
    return float(settings.SERVING_COST_PER_HOUR) * settings.SERVING_PROCESSES_PER_DEPLOYMENT


def serving_configured() -> bool:
    return serving_rate() > 0
