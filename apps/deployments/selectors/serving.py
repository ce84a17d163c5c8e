"""Reads for the data plane: a deployment's head (one small query, polled), a revision's routing
spec with each version's input columns (read once per revision), and `model_check`.

Input column types: the portal's own signature (ModelVersion.signature, written by the training
job) says "double", "string" or "boolean" per input. MLflow's signature says "any" for numbers
(see workers/training/tracking.py `signature`), so it is not the source here. Where the portal's
signature has no usable type ("any", missing, unknown), the dataset version's schema decides
(integer/float -> number, boolean, string, datetime -> string); where neither knows, any JSON
scalar is accepted. A version without inputs in its signature accepts any columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.deployments.models import Deployment, Revision

NUMBER, STRING, BOOLEAN, ANY = "number", "string", "boolean", "any"
_SIGNATURE_KINDS = {
    "double": NUMBER, "float": NUMBER, "long": NUMBER, "integer": NUMBER,
    "string": STRING, "boolean": BOOLEAN,
}  # fmt: skip
_SCHEMA_KINDS = {
    "integer": NUMBER, "float": NUMBER, "boolean": BOOLEAN, "string": STRING, "datetime": STRING,
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    name: str
    kind: str


@dataclass(frozen=True)
class VersionRef:
    id: int
    number: int
    model_name: str
    columns: tuple[Column, ...] | None  # None: no signature, any columns accepted

    @property
    def uri(self) -> str:
        return f"models:/{self.model_name}/{self.number}"


@dataclass(frozen=True)
class RouteSpec:
    revision_id: int
    number: int
    strategy: str
    stable: VersionRef
    candidate: VersionRef | None
    canary_percent: int
    sticky_header: str


@dataclass(frozen=True)
class DeploymentHead:
    id: int
    token_hash: str
    revision_id: int | None


def deployment_head(slug: str) -> DeploymentHead | None:
    row = (
        Deployment.objects.filter(slug=slug)
        .values_list("id", "token_hash", "current_revision_id")
        .first()
    )
    return DeploymentHead(*row) if row else None


def input_columns(signature: dict | None, schema: list | None) -> tuple[Column, ...] | None:
    inputs = (signature or {}).get("inputs") or []
    if not inputs:
        return None
    from_schema = {
        c.get("name"): _SCHEMA_KINDS.get(c.get("type"), ANY)
        for c in (schema or [])
        if isinstance(c, dict)
    }
    columns = []
    for spec in inputs:
        name = spec["name"]
        kind = _SIGNATURE_KINDS.get(spec.get("type")) or from_schema.get(name, ANY)
        columns.append(Column(name, kind))
    return tuple(columns)


def version_ref(version) -> VersionRef:
    schema = version.dataset_version.schema if version.dataset_version_id else None
    return VersionRef(
        id=version.pk,
        number=version.version,
        model_name=version.registered_model.name,
        columns=input_columns(version.signature, schema),
    )


def route_spec(revision_id: int) -> RouteSpec | None:
    revision = (
        Revision.objects.select_related(
            "stable__registered_model",
            "stable__dataset_version",
            "candidate__registered_model",
            "candidate__dataset_version",
        )
        .filter(pk=revision_id)
        .first()
    )
    if revision is None:
        return None
    return RouteSpec(
        revision_id=revision.pk,
        number=revision.number,
        strategy=revision.strategy,
        stable=version_ref(revision.stable),
        candidate=version_ref(revision.candidate) if revision.candidate_id else None,
        canary_percent=revision.canary_percent,
        sticky_header=revision.sticky_header,
    )


def model_check(version) -> str | None:
    """Loads `version` (a ModelVersion) the way serving does and predicts its input example:
    None when that works, else what went wrong (for a blue-green switch)."""
    from apps.deployments.serving.cache import serving

    try:
        model = serving.models.get(version_ref(version))
        if model.example is not None:
            model.predict(model.example)
    except Exception as error:  # any failure is the answer
        return f"{type(error).__name__}: {error}"[:2000]
    return None
