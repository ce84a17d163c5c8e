"""What retraining says: the promotion request's justification, run reasons and the notices to
the policy's creator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import NoReverseMatch, reverse
from rest_framework.exceptions import APIException

from apps.monitoring.models import RetrainData, RetrainRun, RetrainTrigger
from apps.notifications.services import notify
from apps.registry.models import ModelVersion


def error_text(exc: Exception) -> str:
    """An API error's detail as one line: `field: message; field: message`."""
    detail: Any = exc.detail if isinstance(exc, APIException) else str(exc)

    def flat(value: Any, prefix: str = "") -> list[str]:
        if isinstance(value, dict):
            return [p for k, v in value.items() for p in flat(v, f"{k}: ")]
        if isinstance(value, list):
            return [p for v in value for p in flat(v, prefix)]
        return [f"{prefix}{value}"]

    return "; ".join(flat(detail))[:2000]


def wait_text(left: timedelta) -> str:
    seconds = max(int(left.total_seconds()), 1)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"


def _why(run: RetrainRun) -> str:
    policy = run.policy
    if run.trigger == RetrainTrigger.DRIFT_ALERT:
        alert = run.alert
        if alert is None:
            return "Retraining after a drift alert"
        details = [alert.message.strip()] if alert.message.strip() else []
        report = alert.opened_report
        drifted = [c["column"] for c in (report.columns if report else []) if c.get("drifted")]
        if drifted:
            # The alert's message states the share; the columns say what moved.
            shown = ", ".join(drifted[:8]) + (
                f" and {len(drifted) - 8} more" if len(drifted) > 8 else ""
            )
            details.append(f"drifted: {shown}")
        where = alert.monitor.deployment.slug
        return f"Retraining after drift alert #{alert.pk} on {where}" + (
            f" ({'; '.join(details)})" if details else ""
        )
    if run.trigger == RetrainTrigger.DATASET_VERSION and run.trigger_dataset_version:
        version = run.trigger_dataset_version
        return (
            f"Retraining after a new dataset version: {version.dataset.name} v{version.version} "
            "became ready"
        )
    if run.trigger == RetrainTrigger.SCHEDULE:
        return f"Scheduled retraining (every {policy.schedule_hours} h)"
    who = run.created_by.get_username() if run.created_by else "a user"
    return f"Retraining started by hand by {who}"


def justification(run: RetrainRun, version: ModelVersion) -> str:
    """Names the trigger, the data and the production version whose recipe was reused."""
    base, data, training = run.base_version, run.dataset_version, run.training_job
    trained = f"trained on {data.dataset.name} v{data.version}" if data else "trained"
    if run.policy.data == RetrainData.REFERENCE_PLUS_LABELLED:
        reference = base.dataset_version.version if base and base.dataset_version else "?"
        trained += (
            f" (reference v{reference} plus predictions labelled in the last "
            f"{run.policy.labelled_days} days)"
        )
    recipe = (
        f" with the template ({training.template}) and parameters of production version "
        f"{base.version}"
        if base and training
        else ""
    )
    return (
        f"{_why(run)}; {trained}{recipe}. New version v{version.version}, opened by the retrain "
        f"policy of {run.policy.registered_model.name} (run #{run.pk}): review it like any "
        "other request."
    )


def _page(run: RetrainRun) -> str:
    try:
        return reverse("model-retraining", args=[run.policy.registered_model_id])
    except NoReverseMatch:
        return ""


def run_payload(run: RetrainRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "policy": run.policy_id,
        "model": run.policy.registered_model.name,
        "trigger": run.trigger,
        "status": run.status,
        "reason": run.reason,
        "alert": run.alert_id,
        "training_job": run.training_job_id,
        "model_version": run.model_version_id,
        "promotion_request": run.promotion_request_id,
        "url": _page(run),
    }


def notify_creator(run: RetrainRun, event: str, what: str) -> None:
    """Only the creator: reviewers already hear of the promotion request it opened (and
    nothing else of a retraining needs them)."""
    creator = run.policy.created_by
    if creator is None:
        return
    notify(
        event=event,
        project=run.policy.project,
        title=f"{run.policy.registered_model.name}: {what}",
        body=run.reason,
        users=[creator],
        url=_page(run),
        payload=run_payload(run),
    )
