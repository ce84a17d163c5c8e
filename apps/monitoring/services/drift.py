"""Drift runs: request one (job row first, task on commit), compute it, store it."""

from __future__ import annotations
