# ruff: noqa: S608  (the SQL is built from constants only: table names and node types)
"""One recursive query that walks the real foreign keys from a start node.

Every relation is written twice: downstream (from a source row to the rows that point at it)
and upstream (back). Each arm is gated on the walker's direction and node type, so for a
given frontier row PostgreSQL runs only the arms that apply, each an index lookup on one table
(two for reports and retraining). The arms carry no project joins on purpose: they made the
query several times slower to plan than to run. Visibility is applied afterwards, by the node
queries and a walk in memory over the visible nodes only (see lineage_graph).

The graph can hold cycles (a drift report triggers a retraining whose model is deployed to the
same deployment, which has the report), so a walk without a depth is bounded by MAX_HOPS.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

# Unlimited depth still stops here: enough for many retraining loops, and it bounds a cyclic walk.
MAX_HOPS = 40

DV = "datasets_datasetversion"
DS = "datasets_dataset"
TJ = "experiments_trainingjob"
EXP = "experiments_experiment"
MV = "registry_modelversion"
RM = "registry_registeredmodel"
PR = "registry_promotionrequest"
REV = "deployments_revision"
DEP = "deployments_deployment"
DR = "monitoring_driftreport"
MON = "monitoring_monitor"
ALERT = "monitoring_alert"
RR = "monitoring_retrainrun"


@dataclass(frozen=True)
class Relation:
    """source --relation--> target, with the SQL that answers the ids of the far end given the
    near end's id as `w.id` (each one index lookup, mostly on a single table)."""

    source: str
    target: str
    name: str
    down: str  # from a source id to its targets
    up: str  # from a target id to its sources


RELATIONS = (
    Relation(
        "dataset", "dataset_version", "version",
        f"SELECT id FROM {DV} WHERE dataset_id = w.id",
        f"SELECT dataset_id FROM {DV} WHERE id = w.id",
    ),
    Relation(
        "dataset_version", "training_job", "trained",
        f"SELECT id FROM {TJ} WHERE dataset_version_id = w.id",
        f"SELECT dataset_version_id FROM {TJ} WHERE id = w.id",
    ),
    # A version registered without a training job of the portal still came from its data.
    Relation(
        "dataset_version", "model_version", "trained_on",
        f"SELECT id FROM {MV} WHERE dataset_version_id = w.id AND training_job_id IS NULL",
        f"SELECT dataset_version_id FROM {MV} WHERE id = w.id AND training_job_id IS NULL "
        "AND dataset_version_id IS NOT NULL",
    ),
    Relation(
        "training_job", "model_version", "produced",
        f"SELECT id FROM {MV} WHERE training_job_id = w.id",
        f"SELECT training_job_id FROM {MV} WHERE id = w.id AND training_job_id IS NOT NULL",
    ),
    Relation(
        "model_version", "promotion", "requested",
        f"SELECT id FROM {PR} WHERE model_version_id = w.id",
        f"SELECT model_version_id FROM {PR} WHERE id = w.id",
    ),
    Relation(
        "promotion", "deployment_revision", "deployed",
        f"SELECT id FROM {REV} WHERE promotion_request_id = w.id",
        f"SELECT promotion_request_id FROM {REV} WHERE id = w.id "
        "AND promotion_request_id IS NOT NULL",
    ),
    *(
        Relation(
            "model_version", "deployment_revision", role,
            f"SELECT id FROM {REV} WHERE {role}_id = w.id",
            f"SELECT {role}_id FROM {REV} WHERE id = w.id AND {role}_id IS NOT NULL",
        )
        for role in ("stable", "candidate")
    ),
    Relation(
        "deployment_revision", "deployment", "revision_of",
        f"SELECT deployment_id FROM {REV} WHERE id = w.id",
        f"SELECT id FROM {REV} WHERE deployment_id = w.id",
    ),
    Relation(
        "deployment", "drift_report", "monitored",
        f"SELECT dr.id FROM {DR} dr JOIN {MON} m ON m.id = dr.monitor_id "
        "WHERE m.deployment_id = w.id",
        f"SELECT m.deployment_id FROM {DR} dr JOIN {MON} m ON m.id = dr.monitor_id "
        "WHERE dr.id = w.id",
    ),
    Relation(
        "model_version", "drift_report", "observed",
        f"SELECT id FROM {DR} WHERE model_version_id = w.id",
        f"SELECT model_version_id FROM {DR} WHERE id = w.id AND model_version_id IS NOT NULL",
    ),
    # Continuous training: the alert a report opened made a retrain run start a training job.
    Relation(
        "drift_report", "training_job", "triggered",
        f"SELECT rr.training_job_id FROM {RR} rr JOIN {ALERT} a ON a.id = rr.alert_id "
        "WHERE a.opened_report_id = w.id AND rr.training_job_id IS NOT NULL",
        f"SELECT a.opened_report_id FROM {RR} rr JOIN {ALERT} a ON a.id = rr.alert_id "
        "WHERE rr.training_job_id = w.id AND a.opened_report_id IS NOT NULL",
    ),
)  # fmt: skip


def _arms(ways: tuple[str, ...]) -> str:
    arms = []
    for rel in RELATIONS:
        for way, near, far, sql in (
            ("d", rel.source, rel.target, rel.down),
            ("u", rel.target, rel.source, rel.up),
        ):
            if way not in ways:
                continue  # fewer arms, less to plan: the one-way walks are the common ones
            arms.append(
                f"SELECT '{far}'::text AS type, x.id::bigint AS id, '{rel.name}'::text AS rel "
                f"FROM ({sql}) x(id) WHERE w.dir = '{way}' AND w.type = '{near}'"
            )
    return "\n UNION ALL ".join(arms)


def _walk_sql(ways: tuple[str, ...]) -> str:
    return f"""
WITH RECURSIVE walk(dir, type, id, from_type, from_id, rel, depth) AS (
  SELECT d, %(type)s::text, %(id)s::bigint, NULL::text, NULL::bigint, NULL::text, 0
  FROM unnest(%(dirs)s::text[]) AS d
  UNION
  SELECT w.dir, s.type, s.id, w.type, w.id, s.rel, w.depth + 1
  FROM walk w CROSS JOIN LATERAL ({_arms(ways)}) s
  WHERE w.depth < %(depth)s
)
SELECT dir, type, id, from_type, from_id, rel FROM walk WHERE depth > 0
"""


WALK_SQL = {ways: _walk_sql(ways) for ways in (("d",), ("u",), ("d", "u"))}


@dataclass(frozen=True)
class Step:
    """One edge the walk crossed, already turned the way data flows (source → target)."""

    source: tuple[str, int]
    target: tuple[str, int]
    relation: str


def walk(*, kind: str, pk: int, directions: list[str], depth: int | None) -> list[Step]:
    """Every edge within `depth` hops of (kind, pk) in the given directions ("d", "u"),
    whoever owns the rows: the caller narrows it to what may be seen. One query."""
    if connection.vendor != "postgresql":
        return _walk_stepwise(kind=kind, pk=pk, directions=directions, depth=depth or MAX_HOPS)
    params = {"type": kind, "id": pk, "dirs": directions, "depth": depth or MAX_HOPS}
    with connection.cursor() as cursor:
        cursor.execute(WALK_SQL[tuple(sorted(directions))], params)
        rows = cursor.fetchall()
    steps = []
    for way, kind_, id_, from_kind, from_id, rel in rows:
        near, far = (from_kind, from_id), (kind_, id_)
        steps.append(Step(near, far, rel) if way == "d" else Step(far, near, rel))
    return steps


def _walk_stepwise(*, kind: str, pk: int, directions: list[str], depth: int) -> list[Step]:
    """The same walk, breadth first, for the embedded SQLite default (no LATERAL, no arrays):
    one small query per node and relation, so its query count grows with the graph there."""
    steps: set[Step] = set()
    with connection.cursor() as cursor:
        for way in directions:
            seen = {(kind, pk)}
            frontier = [(kind, pk)]
            for _ in range(depth):
                reached = []
                for near_kind, near_id in frontier:
                    for rel in RELATIONS:
                        near, far, sql = (
                            (rel.source, rel.target, rel.down)
                            if way == "d"
                            else (rel.target, rel.source, rel.up)
                        )
                        if near != near_kind:
                            continue
                        cursor.execute(sql.replace("w.id", "%s"), [near_id])
                        for (far_id,) in cursor.fetchall():
                            a, b = (near_kind, near_id), (far, int(far_id))
                            steps.add(Step(a, b, rel.name) if way == "d" else Step(b, a, rel.name))
                            if b not in seen:
                                seen.add(b)
                                reached.append(b)
                frontier = reached
                if not frontier:
                    break
    return list(steps)
