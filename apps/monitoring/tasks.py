"""Celery entry points of monitoring (scheduled monitor runs, scheduled retraining)."""

from __future__ import annotations
