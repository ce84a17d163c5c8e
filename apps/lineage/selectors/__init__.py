"""The lineage graph over the real foreign keys (no copies), layered left to right:

    dataset → dataset_version → training_job → model_version → promotion
            → deployment_revision → deployment → drift_report (→ training_job, by retraining)

One recursive query finds the edges (selectors/walk.py), then one query fills in the nodes
(selectors/nodes.py), every node type in it narrowed to the caller's projects: two queries
whatever the graph's size. An edge is kept only when both ends are visible, and a node
only when the start reaches it through visible nodes.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth.models import AbstractBaseUser

from apps.lineage.selectors.nodes import KINDS, load_nodes
from apps.lineage.selectors.walk import MAX_HOPS, walk

LEVELS = KINDS
DIRECTIONS = ("upstream", "downstream", "both")
MAX_DEPTH = 20

__all__ = ["DIRECTIONS", "LEVELS", "MAX_DEPTH", "MAX_HOPS", "lineage_graph"]


def _order(node: dict) -> tuple:
    return LEVELS.index(node["type"]), int(node["id"].split(":")[1])


def lineage_graph(
    *, user: AbstractBaseUser, kind: str, pk: int, direction: str, depth: int | None = None
) -> dict | None:
    """{"nodes": [...], "edges": [...]} around (kind, pk), or None when the start node does not
    exist or the caller may not see it. `both` is the union of the upstream and the downstream
    walk (not a walk that turns around, which would reach siblings). `depth` counts hops from
    the start node; None walks to the ends (at most MAX_HOPS)."""
    ways = {"upstream": ["u"], "downstream": ["d"], "both": ["u", "d"]}[direction]
    if not user.is_authenticated:
        return None
    steps = walk(kind=kind, pk=pk, directions=ways, depth=depth)
    ids: dict[str, set[int]] = defaultdict(set)
    ids[kind].add(pk)
    for step in steps:
        ids[step.source[0]].add(step.source[1])
        ids[step.target[0]].add(step.target[1])
    nodes = load_nodes(user, ids)
    start = f"{kind}:{pk}"
    if start not in nodes:
        return None
    edges = {
        (f"{s.source[0]}:{s.source[1]}", f"{s.target[0]}:{s.target[1]}", s.relation) for s in steps
    }
    edges = {e for e in edges if e[0] in nodes and e[1] in nodes}
    reached = _reachable(start, edges, ways, depth or MAX_HOPS)
    return {
        "nodes": sorted((n for key, n in nodes.items() if key in reached), key=_order),
        "edges": [
            {"source": s, "target": t, "relation": r}
            for s, t, r in sorted(edges)
            if s in reached and t in reached
        ],
    }


def _reachable(start: str, edges: set[tuple[str, str, str]], ways: list[str], depth: int) -> set:
    """The visible nodes within `depth` hops of the start along visible nodes only, so that a
    visible node met only by way of a hidden one (a link across projects) stays out too."""
    reached = {start}
    for way in ways:
        step: dict[str, list[str]] = defaultdict(list)
        for source, target, _rel in edges:
            if way == "d":
                step[source].append(target)
            else:
                step[target].append(source)
        seen, frontier = {start}, [start]
        for _ in range(depth):
            frontier = [n for node in frontier for n in step[node] if n not in seen]
            if not frontier:
                break
            seen.update(frontier)
        reached |= seen
    return reached
