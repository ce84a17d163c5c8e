"""What a node shows. Every node type present is one arm of a single UNION ALL query, each arm
narrowed to the caller's projects, so filling in a graph is one query whatever its types."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Cast
from django.urls import NoReverseMatch, reverse

from apps.core.permissions import scope_to_member_projects
from apps.datasets.models import Dataset, DatasetVersion
from apps.deployments.models import Deployment, Revision
from apps.experiments.models import TrainingJob
from apps.monitoring.models import DriftReport
from apps.registry.models import ModelVersion, PromotionRequest

Node = dict[str, str]
_PK = 987654321  # a placeholder reversed once per route, then swapped for each row's key
_SLUG = "zz-slug-zz"
# Every arm answers the same columns: kind, id, three texts, two numbers, a flag, a time.
COLUMNS = ("n_kind", "id", "n_a", "n_b", "n_c", "n_n", "n_m", "n_f", "n_t")
_TEXT, _INT = models.TextField(), models.BigIntegerField()
# Typed NULLs: PostgreSQL would read a bare NULL as text and refuse to unite it with numbers.
_NULLS = {
    "n_a": Cast(Value(None), _TEXT), "n_b": Cast(Value(None), _TEXT),
    "n_c": Cast(Value(None), _TEXT), "n_n": Cast(Value(None), _INT),
    "n_m": Cast(Value(None), _INT), "n_f": Cast(Value(None), models.BooleanField()),
    "n_t": Cast(Value(None), models.DateTimeField()),
}  # fmt: skip


def _text(path: str) -> Cast:
    return Cast(F(path), _TEXT)


def _int(path: str) -> Cast:
    return Cast(F(path), _INT)


# kind -> (model, path to its project, columns it fills)
ARMS: dict[str, tuple[type[models.Model], str, dict]] = {
    "dataset": (Dataset, "project", {"n_a": _text("name")}),
    "dataset_version": (DatasetVersion, "dataset__project", {
        "n_a": _text("dataset__name"), "n_b": _text("status"), "n_n": _int("version"),
    }),
    "training_job": (TrainingJob, "experiment__project", {
        "n_a": _text("template"), "n_b": _text("job__status"),
    }),
    "model_version": (ModelVersion, "registered_model__project", {
        "n_a": _text("registered_model__name"), "n_b": _text("stage"), "n_n": _int("version"),
    }),
    "promotion": (PromotionRequest, "model_version__registered_model__project", {
        "n_a": _text("target"), "n_b": _text("status"),
    }),
    "deployment_revision": (Revision, "deployment__project", {
        "n_a": _text("deployment__slug"), "n_b": _text("strategy"), "n_n": _int("number"),
        "n_m": _int("deployment__current_revision"),
    }),
    "deployment": (Deployment, "project", {
        "n_a": _text("slug"), "n_b": _text("environment"), "n_c": _text("last_error"),
        "n_m": _int("current_revision"),
    }),
    "drift_report": (DriftReport, "monitor__project", {
        "n_a": _text("monitor__deployment__slug"), "n_b": _text("status"),
        "n_c": _text("html_path"), "n_f": F("dataset_drift"), "n_t": F("created_at"),
    }),
}  # fmt: skip
KINDS = tuple(ARMS)


def _route(name: str, arg: int | str) -> Callable[[object], str]:
    """A url builder for one route: reverse() once, then plain string work per node."""
    try:
        pattern = reverse(name, args=[arg])
    except NoReverseMatch:  # a page not (yet) installed: the node has no link rather than a 500
        return lambda _value: ""
    return lambda value: pattern.replace(str(arg), str(value))


def _arm(user: AbstractBaseUser, kind: str, ids: Iterable[int]) -> models.QuerySet:
    model, project_path, filled = ARMS[kind]
    columns = {**_NULLS, **filled}
    queryset = model.objects.filter(pk__in=list(ids)).order_by()
    queryset = scope_to_member_projects(queryset, user, project_path)
    return queryset.annotate(n_kind=Value(kind, _TEXT), **columns).values_list(*COLUMNS)


def load_nodes(user: AbstractBaseUser, ids: dict[str, set[int]]) -> dict[str, Node]:
    """The visible ones among `ids` (kind -> ids), keyed "TYPE:ID". One query."""
    arms = [_arm(user, kind, ids[kind]) for kind in KINDS if ids.get(kind)]
    if not arms:
        return {}
    rows = arms[0].union(*arms[1:], all=True) if len(arms) > 1 else arms[0]
    urls = {
        "dataset": _route("dataset-detail", _PK),
        "dataset_version": _route("dataset-version-detail", _PK),
        "training_job": _route("training-job", _PK),
        "model_version": _route("model-version", _PK),
        "promotion": _route("promotion", _PK),
        "deployment": _route("deployment", _SLUG),
        "report_html": _route("monitoring-report-html", _PK),
        "monitoring": _route("monitoring-deployment", _SLUG),
    }
    nodes: dict[str, Node] = {}
    for row in rows:
        node = _node(urls, *row)
        nodes[node["id"]] = node
    return nodes


def _node(urls: dict, kind: str, pk: int, a, b, c, n, m, flag, at) -> Node:
    if kind == "dataset":
        label, status, url = a, "dataset", urls[kind](pk)
    elif kind in ("dataset_version", "model_version"):
        label, status, url = f"{a} v{n}", b, urls[kind](pk)
    elif kind == "training_job":
        label, status, url = f"training #{pk} ({a})", b, urls[kind](pk)
    elif kind == "promotion":
        label, status, url = f"promotion #{pk} → {a}", b, urls[kind](pk)
    elif kind == "deployment_revision":
        link = urls["deployment"](a)
        label, url = f"{a} r{n} ({b})", f"{link}#timeline" if link else ""
        status = "current" if m == pk else "superseded"
    elif kind == "deployment":
        label, url = f"{a} ({b})", urls[kind](a)
        status = "error" if c else ("live" if m else "empty")
    else:  # drift_report
        # "drifted" sets apart the finished reports that found drift, the ones people look for.
        status = "drifted" if b == "ok" and flag else b
        label = f"drift report #{pk} ({at:%Y-%m-%d %H:%M})"
        url = urls["report_html"](pk) if c else urls["monitoring"](a)
    return {"id": f"{kind}:{pk}", "type": kind, "label": label, "status": status, "url": url}
