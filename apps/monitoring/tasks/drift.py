"""Scheduled monitor runs."""

from __future__ import annotations
