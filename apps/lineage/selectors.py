"""The lineage graph over the real foreign keys (no copies):

    dataset_version → training_job → model_version → deployment_revision → deployment

Walked one level at a time with one query per level, so a graph costs at most five queries
whatever its size; every level is narrowed to the caller's projects, and an edge is kept only
when both of its ends are visible."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from apps.core.permissions import scope_to_member_projects
from apps.datasets.models import DatasetVersion
from apps.deployments.models import Deployment, Revision
from apps.experiments.models import TrainingJob
from apps.registry.models import ModelVersion

LEVELS = ("dataset_version", "training_job", "model_version", "deployment_revision", "deployment")
DIRECTIONS = ("upstream", "downstream", "both")


@dataclass
class Graph:
    user: AbstractBaseUser
    ids: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    nodes: dict[str, dict] = field(default_factory=dict)
    edges: set[tuple[str, str, str]] = field(default_factory=set)

    def add(self, kind: str, pk: int, label: str, status: str, url: str) -> None:
        self.ids[kind].add(pk)
        key = f"{kind}:{pk}"
        self.nodes[key] = {"id": key, "type": kind, "label": label, "status": status, "url": url}

    def link(
        self, source: tuple[str, int | None], target: tuple[str, int | None], rel: str
    ) -> None:
        if source[1] is not None and target[1] is not None:
            self.edges.add((f"{source[0]}:{source[1]}", f"{target[0]}:{target[1]}", rel))

    def answer(self) -> dict:
        edges = [
            {"source": s, "target": t, "relation": r}
            for s, t, r in sorted(self.edges)
            if s in self.nodes and t in self.nodes
        ]
        return {"nodes": sorted(self.nodes.values(), key=_order), "edges": edges}


def _order(node: dict) -> tuple:
    return LEVELS.index(node["type"]), int(node["id"].split(":")[1])


def _scoped(queryset, graph: Graph, path: str):
    return scope_to_member_projects(queryset, graph.user, path)


def _dataset_versions(graph: Graph, where: Q) -> None:
    rows = _scoped(
        DatasetVersion.objects.filter(where).select_related("dataset").only(
            "id", "version", "status", "dataset__name", "dataset__project_id"
        ),
        graph, "dataset__project",
    )  # fmt: skip
    for dv in rows:
        graph.add("dataset_version", dv.pk, f"{dv.dataset.name} v{dv.version}", dv.status,
                  f"/dataset-versions/{dv.pk}/")  # fmt: skip


def _training_jobs(graph: Graph, where: Q) -> None:
    rows = _scoped(
        TrainingJob.objects.filter(where).select_related("job", "experiment").only(
            "id", "model_name", "template", "dataset_version_id", "job__status",
            "experiment__project_id",
        ),
        graph, "experiment__project",
    )  # fmt: skip
    for tj in rows:
        graph.add("training_job", tj.pk, f"training #{tj.pk} ({tj.template})", tj.job.status,
                  f"/training-jobs/{tj.pk}/")  # fmt: skip
        graph.link(("dataset_version", tj.dataset_version_id), ("training_job", tj.pk), "trained")


def _model_versions(graph: Graph, where: Q) -> None:
    rows = _scoped(
        ModelVersion.objects.filter(where).select_related("registered_model").only(
            "id", "version", "stage", "training_job_id", "dataset_version_id",
            "registered_model__name", "registered_model__project_id",
        ),
        graph, "registered_model__project",
    )  # fmt: skip
    for mv in rows:
        graph.add("model_version", mv.pk, f"{mv.registered_model.name} v{mv.version}", mv.stage,
                  f"/models/versions/{mv.pk}/")  # fmt: skip
        if mv.training_job_id is not None:
            graph.link(("training_job", mv.training_job_id), ("model_version", mv.pk), "produced")
        else:
            graph.link(("dataset_version", mv.dataset_version_id), ("model_version", mv.pk),
                       "trained_on")  # fmt: skip


def _revisions(graph: Graph, where: Q) -> None:
    rows = _scoped(
        Revision.objects.filter(where).select_related("deployment").only(
            "id", "number", "strategy", "stable_id", "candidate_id", "deployment__slug",
            "deployment__project_id", "deployment__current_revision_id",
        ),
        graph, "deployment__project",
    )  # fmt: skip
    for rev in rows:
        current = rev.deployment.current_revision_id == rev.pk
        graph.add("deployment_revision", rev.pk, f"{rev.deployment.slug} r{rev.number} "
                  f"({rev.strategy})", "current" if current else "superseded",
                  f"/deployments/{rev.deployment.slug}/#timeline")  # fmt: skip
        graph.link(("model_version", rev.stable_id), ("deployment_revision", rev.pk), "stable")
        graph.link(("model_version", rev.candidate_id), ("deployment_revision", rev.pk),
                   "candidate")  # fmt: skip
        graph.link(("deployment_revision", rev.pk), ("deployment", rev.deployment_id),
                   "revision_of")  # fmt: skip


def _deployments(graph: Graph, where: Q) -> None:
    rows = _scoped(
        Deployment.objects.filter(where).only(
            "id", "slug", "project_id", "environment", "current_revision_id", "last_error"
        ),
        graph, "project",
    )  # fmt: skip
    for dep in rows:
        status = "error" if dep.last_error else ("live" if dep.current_revision_id else "empty")
        graph.add("deployment", dep.pk, f"{dep.slug} ({dep.environment})", status,
                  f"/deployments/{dep.slug}/")  # fmt: skip


def _ids(graph: Graph, kind: str, start: tuple[str, int]) -> set[int]:
    found = set(graph.ids[kind])
    if start[0] == kind:
        found.add(start[1])
    return found


def _upstream(graph: Graph, start: tuple[str, int]) -> None:
    begin = LEVELS.index(start[0])
    if begin >= 4:
        _deployments(graph, Q(pk=start[1]))
    if begin >= 3:
        deployments = graph.ids["deployment"] if begin == 4 else set()
        _revisions(graph, Q(pk__in=_ids(graph, "deployment_revision", start))
                   | Q(deployment_id__in=deployments))  # fmt: skip
    if begin >= 2:
        wanted = _ids(graph, "model_version", start)
        for source, _target, _rel in list(graph.edges):
            if source.startswith("model_version:"):
                wanted.add(int(source.split(":")[1]))
        _model_versions(graph, Q(pk__in=wanted))
    if begin >= 1:
        _training_jobs(
            graph, Q(pk__in=_sources(graph, "training_job") | _ids(graph, "training_job", start))
        )
    _dataset_versions(graph, Q(pk__in=_sources(graph, "dataset_version")
                                | _ids(graph, "dataset_version", start)))  # fmt: skip


def _sources(graph: Graph, kind: str) -> set[int]:
    return {int(s.split(":")[1]) for s, _t, _r in graph.edges if s.startswith(kind + ":")}


def _downstream(graph: Graph, start: tuple[str, int]) -> None:
    begin = LEVELS.index(start[0])
    if begin <= 0:
        _dataset_versions(graph, Q(pk=start[1]))
    dvs = set(graph.ids["dataset_version"])
    if begin <= 1:
        _training_jobs(graph, Q(pk__in=_ids(graph, "training_job", start))
                       | Q(dataset_version_id__in=dvs))  # fmt: skip
    if begin <= 2:
        tjs = set(graph.ids["training_job"])
        _model_versions(graph, Q(pk__in=_ids(graph, "model_version", start))
                        | Q(training_job_id__in=tjs)
                        | Q(training_job__isnull=True, dataset_version_id__in=dvs))  # fmt: skip
    if begin <= 3:
        mvs = set(graph.ids["model_version"])
        _revisions(graph, Q(pk__in=_ids(graph, "deployment_revision", start))
                   | Q(stable_id__in=mvs) | Q(candidate_id__in=mvs))  # fmt: skip
    deployments = {int(t.split(":")[1]) for _s, t, _r in graph.edges if t.startswith("deployment:")}
    _deployments(graph, Q(pk__in=deployments | _ids(graph, "deployment", start)))


def lineage_graph(*, user: AbstractBaseUser, kind: str, pk: int, direction: str) -> dict | None:
    """None when the start node does not exist or the caller may not see it. `both` is the
    union of the two walks (not a walk in every direction, which would reach siblings)."""
    start = (kind, pk)
    graph = Graph(user=user)
    if direction in ("upstream", "both"):
        _upstream(graph, start)
    if direction in ("downstream", "both"):
        down = Graph(user=user)
        _downstream(down, start)
        graph.nodes.update(down.nodes)
        graph.edges |= down.edges
    if f"{kind}:{pk}" not in graph.nodes:
        return None
    return graph.answer()
