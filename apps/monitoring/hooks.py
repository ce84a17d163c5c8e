"""Monitoring's hooks on other apps' jobs (a training job ending, a dataset version ready)."""

from __future__ import annotations
