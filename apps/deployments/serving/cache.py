"""Per-process serving state: deployments (slug -> token hash, live route) and loaded models.

A deployment's head is re-read at most every SERVING_REFRESH_SECONDS (one small query). When its
current revision changes, the new revision's models are loaded first and the route is switched
after, in one assignment: requests in flight keep the route (and model objects) they started
with, so a switch never fails a request. One request per process pays the load; the others keep
being answered by the old route meanwhile. If loading fails, the old route stays live, the error
goes on the deployment (last_error), and the load is retried with a growing backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from apps.deployments.models import Deployment
from apps.deployments.selectors.serving import RouteSpec, VersionRef, deployment_head, route_spec
from apps.deployments.serving import config
from apps.deployments.serving.loader import LoadedModel, mlflow_loader

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0


class ModelCache:
    """One loaded model per model version, shared by every deployment of the process."""

    def __init__(self, loader: Callable[[VersionRef], LoadedModel]) -> None:
        self.loader = loader
        self._models: dict[int, LoadedModel] = {}
        self._lock = threading.Lock()

    def get(self, ref: VersionRef) -> LoadedModel:
        model = self._models.get(ref.id)
        if model is not None:
            return model
        with self._lock:
            model = self._models.get(ref.id)
            if model is None:
                model = self.loader(ref)
                self._models[ref.id] = model
            return model

    def retain(self, version_ids: set[int]) -> None:
        """Forget models no live route uses (requests holding one keep their reference)."""
        with self._lock:
            for version_id in list(self._models):
                if version_id not in version_ids:
                    del self._models[version_id]


@dataclass(frozen=True)
class Route:
    spec: RouteSpec
    stable: LoadedModel
    candidate: LoadedModel | None


@dataclass
class Entry:
    slug: str
    deployment_id: int
    token_hash: str
    checked_at: float
    route: Route | None = None
    revision_id: int | None = None  # the revision the deployment currently points at
    failures: int = 0
    retry_at: float = 0.0
    error: str = ""
    swap_lock: threading.Lock = field(default_factory=threading.Lock)


class ServingCache:
    def __init__(
        self,
        loader: Callable[[VersionRef], LoadedModel] = mlflow_loader,
        *,
        clock: Callable[[], float] = time.monotonic,
        backoff: float = 1.0,
    ) -> None:
        self.models = ModelCache(loader)
        self.clock = clock
        self.backoff = backoff
        self._entries: dict[str, Entry] = {}

    def clear(self) -> None:
        self._entries.clear()
        self.models.retain(set())

    def lookup(self, slug: str) -> Entry | None:
        entry = self._entries.get(slug)
        now = self.clock()
        if entry is not None and now - entry.checked_at < config.refresh_seconds():
            return entry
        if entry is not None:
            # Claimed first, so that concurrent requests do not all run the query.
            entry.checked_at = now
        head = deployment_head(slug)
        if head is None:
            self._entries.pop(slug, None)
            return None
        if entry is None or entry.deployment_id != head.id:
            entry = Entry(slug=slug, deployment_id=head.id, token_hash="", checked_at=now)
            self._entries[slug] = entry
        entry.token_hash = head.token_hash
        entry.revision_id = head.revision_id
        if head.revision_id is None:
            entry.route = None
        elif entry.route is None or entry.route.spec.revision_id != head.revision_id:
            self._swap(entry, head.revision_id, now)
        return entry

    def _swap(self, entry: Entry, revision_id: int, now: float) -> None:
        if entry.route is not None and now < entry.retry_at:
            return
        # With nothing live yet the request has to wait for the load; otherwise it is served by
        # the old route while one other request loads the new one.
        if not entry.swap_lock.acquire(blocking=entry.route is None):
            return
        try:
            if entry.route is not None and entry.route.spec.revision_id == revision_id:
                return
            if entry.route is None and now < entry.retry_at:
                return
            spec = route_spec(revision_id)
            if spec is None:
                return
            try:
                stable = self.models.get(spec.stable)
                candidate = self.models.get(spec.candidate) if spec.candidate else None
            except Exception as error:  # any load failure keeps the old route
                self._failed(entry, revision_id, error, now)
                return
            entry.route = Route(spec, stable, candidate)
            if entry.failures or entry.error:
                entry.failures, entry.retry_at, entry.error = 0, 0.0, ""
                Deployment.objects.filter(pk=entry.deployment_id).exclude(last_error="").update(
                    last_error="", last_error_at=None
                )
            self.models.retain(self._live_versions())
        finally:
            entry.swap_lock.release()

    def _failed(self, entry: Entry, revision_id: int, error: Exception, now: float) -> None:
        entry.failures += 1
        entry.retry_at = now + min(MAX_BACKOFF_SECONDS, self.backoff * 2 ** (entry.failures - 1))
        entry.error = f"revision {revision_id}: {type(error).__name__}: {error}"[:2000]
        logger.warning("deployment %s: load failed: %s", entry.slug, entry.error)
        Deployment.objects.filter(pk=entry.deployment_id).update(
            last_error=entry.error, last_error_at=timezone.now()
        )

    def _live_versions(self) -> set[int]:
        ids = set()
        for entry in list(self._entries.values()):
            if entry.route is not None:
                ids.add(entry.route.spec.stable.id)
                if entry.route.spec.candidate is not None:
                    ids.add(entry.route.spec.candidate.id)
        return ids


serving = ServingCache()
