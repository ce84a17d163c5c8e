"""Celery entry points of monitoring; Celery's autodiscovery imports this package."""

from apps.monitoring.tasks import drift, retrain  # noqa: F401
