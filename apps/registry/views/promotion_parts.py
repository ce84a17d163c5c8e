"""Pieces of a promotion request's page: metrics side by side, the dataset diff between the
candidate's and the champion's training data, and the lineage chain."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse
from rest_framework.exceptions import APIException

from apps.datasets.api.views import version_diff
from apps.datasets.views.versions import for_display
from apps.registry.models import ModelVersion


def registry_url(name: str, pk: int) -> str:
    """A link to a model or version page (built alongside); empty while it does not exist."""
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def metric_rows(
    candidate: ModelVersion, champion: ModelVersion | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows (name, candidate, champion, delta) and the grouped bar chart's data."""
    mine = candidate.metrics or {}
    theirs = (champion.metrics or {}) if champion else {}
    names = sorted(set(mine) | set(theirs))
    rows = []
    for name in names:
        a, b = _number(mine.get(name)), _number(theirs.get(name))
        delta = a - b if a is not None and b is not None else None
        rows.append({"name": name, "candidate": a, "champion": b, "delta": delta})
    chart_names = [r["name"] for r in rows if r["candidate"] is not None][:20]
    series = [
        {"label": f"candidate v{candidate.version}", "values": [mine.get(n) for n in chart_names]}
    ]
    if champion is not None:
        series.append(
            {
                "label": f"champion v{champion.version}",
                "values": [_number(theirs.get(n)) for n in chart_names],
            }
        )
    return rows, {"metrics": chart_names, "series": series}


def dataset_diff(candidate: ModelVersion, champion: ModelVersion | None) -> dict[str, Any]:
    """{"diff": ..., "note": ...}: the schema and profile changes between the two training sets."""
    if champion is None:
        return {"note": "No champion: nothing to compare the training data with."}
    base, other = champion.dataset_version, candidate.dataset_version
    if base is None or other is None:
        return {"note": "One of the versions has no recorded dataset version."}
    if base.pk == other.pk:
        return {"note": f"Both were trained on {other.dataset.name} v{other.version}."}
    try:
        diff = for_display(version_diff(base, other))
    except APIException as exc:
        return {"note": str(exc.detail.get("detail", exc.detail))}
    return {"diff": diff, "base": base, "other": other}


def lineage(version: ModelVersion) -> list[dict[str, str]]:
    """dataset version → training job → MLflow run → model version, each with its link."""
    chain = []
    dv = version.dataset_version
    if dv is not None:
        chain.append(
            {
                "kind": "Dataset version",
                "label": f"{dv.dataset.name} v{dv.version}",
                "url": reverse("dataset-version-detail", args=[dv.pk]),
                "note": "validation "
                + {True: "passed", False: "failed", None: "not run"}[dv.validation_passed],
            }
        )
    training = version.training_job
    if training is not None:
        chain.append(
            {
                "kind": "Training job",
                "label": f"#{training.pk} {training.template}",
                "url": reverse("training-job", args=[training.pk]),
                "note": training.job.status,
            }
        )
    chain.append({"kind": "MLflow run", "label": version.mlflow_run_id[:12], "url": "", "note": ""})
    chain.append(
        {
            "kind": "Model version",
            "label": f"{version.registered_model.name} v{version.version}",
            "url": registry_url("model-version", version.pk),
            "note": version.stage,
        }
    )
    return chain
