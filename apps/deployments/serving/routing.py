"""Which model answers a request, per the revision's strategy."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping

from apps.deployments.models import Strategy
from apps.deployments.serving.cache import Route
from apps.deployments.serving.loader import LoadedModel

# A seam for tests: replace with random.Random(seed) for a reproducible split.
rng = random.Random()  # traffic splitting, not security


def bucket(key: str) -> float:
    """A stable position in [0, 100) for a sticky key: the same key, the same side."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 / 100


def pick(route: Route, headers: Mapping[str, str]) -> tuple[LoadedModel, LoadedModel | None]:
    """(the model that answers, a shadow model that gets a copy or None)."""
    spec = route.spec
    if route.candidate is None:
        return route.stable, None
    if spec.strategy == Strategy.BLUE_GREEN:
        return route.candidate, None
    if spec.strategy == Strategy.SHADOW:
        return route.stable, route.candidate
    if spec.strategy == Strategy.CANARY:
        key = headers.get(spec.sticky_header) if spec.sticky_header else None
        position = bucket(key) if key else rng.random() * 100
        return (route.candidate if position < spec.canary_percent else route.stable), None
    return route.stable, None
