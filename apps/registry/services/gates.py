"""Promotion gates: the checks a version must pass before it may enter a stage.

Each gate is a plain function returning {"name", "passed", "detail"}; `gates_run` runs them all
for a candidate against the current champion and is what the promotion services store.
"""

from __future__ import annotations

from typing import Any

from apps.registry.models import ModelVersion, Stage, StageChange
from apps.registry.selectors.policies import Policy, policy_for

Gate = dict[str, Any]


def _gate(name: str, passed: bool, detail: str) -> Gate:
    return {"name": name, "passed": bool(passed), "detail": detail}


def _metric(version: ModelVersion, name: str) -> float | None:
    value = (version.metrics or {}).get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def training_job_succeeded(version: ModelVersion) -> Gate:
    training = version.training_job
    if training is None:
        return _gate("training_job_succeeded", False, "No training job recorded for it.")
    status = training.job.status
    return _gate(
        "training_job_succeeded",
        status == "succeeded",
        f"Training job #{training.pk} {status}.",
    )


def metrics_present(version: ModelVersion, policy: Policy) -> Gate:
    if not policy.primary_metric:
        return _gate("metrics_present", False, "The policy names no primary metric.")
    value = _metric(version, policy.primary_metric)
    if value is None:
        return _gate("metrics_present", False, f"No '{policy.primary_metric}' metric recorded.")
    return _gate("metrics_present", True, f"{policy.primary_metric} = {value:.4g}.")


def dataset_validation(version: ModelVersion, policy: Policy) -> Gate:
    if not policy.require_validation:
        return _gate("dataset_validation", True, "Not required by the policy.")
    dv = version.dataset_version
    if dv is None:
        return _gate("dataset_validation", False, "No dataset version recorded.")
    label = f"{dv.dataset.name} v{dv.version}"
    if dv.status != "ready":
        return _gate("dataset_validation", False, f"{label} is {dv.status}, not ready.")
    if dv.validation_passed is not True:
        state = "failed its" if dv.validation_passed is False else "has not been checked against"
        return _gate("dataset_validation", False, f"{label} {state} validation rules.")
    return _gate("dataset_validation", True, f"{label} passed validation.")


def metric_floor(version: ModelVersion, policy: Policy) -> Gate | None:
    if policy.floor is None:
        return None
    value = _metric(version, policy.primary_metric)
    if value is None:
        return _gate("metric_floor", False, f"No '{policy.primary_metric}' to compare.")
    if policy.direction == "min":
        passed, word = value <= policy.floor, "at most"
    else:
        passed, word = value >= policy.floor, "at least"
    return _gate(
        "metric_floor",
        passed,
        f"{policy.primary_metric} {value:.4g} must be {word} {policy.floor:.4g}.",
    )


def champion_tolerance(
    version: ModelVersion, champion: ModelVersion | None, policy: Policy
) -> Gate:
    if champion is None:
        return _gate("champion_tolerance", True, "No champion in this stage.")
    metric = policy.primary_metric
    mine, theirs = _metric(version, metric), _metric(champion, metric)
    if mine is None or theirs is None:
        whose = "candidate" if mine is None else f"champion v{champion.version}"
        return _gate("champion_tolerance", False, f"The {whose} has no '{metric}'.")
    # Positive: the candidate is worse than the champion by this much.
    worse_by = (theirs - mine) if policy.direction == "max" else (mine - theirs)
    passed = worse_by <= policy.tolerance + 1e-12
    return _gate(
        "champion_tolerance",
        passed,
        f"{metric} {mine:.4g} vs champion v{champion.version} {theirs:.4g} "
        f"(tolerance {policy.tolerance:.4g}, {policy.direction}imise).",
    )


def signature_diff(candidate: dict | None, champion: dict | None) -> dict[str, list]:
    """Inputs missing from, added to, or of another type in the candidate's signature."""
    mine = {i["name"]: i.get("type") for i in (candidate or {}).get("inputs") or []}
    theirs = {i["name"]: i.get("type") for i in (champion or {}).get("inputs") or []}
    return {
        "missing": [name for name in theirs if name not in mine],
        "added": [name for name in mine if name not in theirs],
        "changed": [
            {"name": n, "from": theirs[n], "to": mine[n]}
            for n in theirs
            if n in mine and theirs[n] != mine[n]
        ],
    }


def signature_compatible(version: ModelVersion, champion: ModelVersion | None) -> Gate:
    if champion is None:
        return _gate("signature_compatible", True, "No champion to compare with.")
    diff = signature_diff(version.signature, champion.signature)
    if not any(diff.values()):
        return _gate("signature_compatible", True, f"Same inputs and types as v{champion.version}.")
    parts = []
    if diff["missing"]:
        parts.append("missing " + ", ".join(diff["missing"]))
    if diff["added"]:
        parts.append("added " + ", ".join(diff["added"]))
    if diff["changed"]:
        parts.append(
            "changed " + ", ".join(f"{c['name']} {c['from']}→{c['to']}" for c in diff["changed"])
        )
    return _gate(
        "signature_compatible", False, f"Differs from v{champion.version}: {'; '.join(parts)}."
    )


def staged_first(version: ModelVersion) -> Gate:
    been = StageChange.objects.filter(model_version=version, to_stage=Stage.STAGING).exists()
    detail = "It has been in staging." if been else "It has never been in staging."
    return _gate("staged_first", been, detail)


def champion_of(version: ModelVersion, target: str) -> ModelVersion | None:
    return (
        ModelVersion.objects.filter(registered_model_id=version.registered_model_id, stage=target)
        .exclude(pk=version.pk)
        .first()
    )


def gates_run(version: ModelVersion, target: str) -> tuple[list[Gate], ModelVersion | None]:
    """All gates for promoting `version` to `target`; returns (gates, champion)."""
    task = version.training_job.task if version.training_job else ""
    policy = policy_for(version.registered_model, target, task=task)
    champion = champion_of(version, target)
    gates = [
        training_job_succeeded(version),
        metrics_present(version, policy),
        dataset_validation(version, policy),
        metric_floor(version, policy),
        champion_tolerance(version, champion, policy),
        signature_compatible(version, champion),
    ]
    if target == Stage.PRODUCTION:
        gates.append(staged_first(version))
    return [g for g in gates if g is not None], champion
