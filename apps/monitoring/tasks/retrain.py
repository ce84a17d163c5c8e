"""Scheduled retraining."""

from __future__ import annotations
