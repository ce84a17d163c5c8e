"""Ground truth for served predictions: labels attached to (request id, row) after the fact."""

from __future__ import annotations

from collections import Counter

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from apps.core.models import Membership, Project, Role
from apps.core.services.audit import audit_record
from apps.deployments.models import Deployment, PredictionLog

MAX_LABELS = 10_000
_LABELLERS = (Role.CONTRIBUTOR, Role.REVIEWER, Role.ADMIN)


def _labelled_projects(actor: AbstractBaseUser):
    if actor.is_superuser:
        return Project.objects.values("id")
    return Membership.objects.filter(user=actor, role__in=_LABELLERS).values("project_id")


@transaction.atomic
def predictions_label(*, actor: AbstractBaseUser, labels: list[dict]) -> dict[str, int]:
    """Sets `label` on every logged row (the answer and any shadow copy) of each (request_id,
    row) in `labels`, in projects where `actor` is a contributor or more. Request ids of other
    projects count as unknown, exactly like ids that do not exist. A repeated key: last wins."""
    wanted = {(item["request_id"], item.get("row", 0)): item["label"] for item in labels}
    now = timezone.now()
    matched_keys: set[tuple[str, int]] = set()
    per_deployment: Counter[int] = Counter()
    rows = (
        PredictionLog.objects.filter(
            request_id__in={request_id for request_id, _ in wanted},
            deployment__project__in=_labelled_projects(actor),
        )
        .only("id", "request_id", "row", "deployment_id")
        .select_for_update()
    )
    changed = []
    for row in rows:
        key = (row.request_id, row.row)
        if key not in wanted:
            continue
        row.label, row.labelled_at = wanted[key], now
        changed.append(row)
        matched_keys.add(key)
        per_deployment[row.deployment_id] += 1
    PredictionLog.objects.bulk_update(changed, ["label", "labelled_at"], batch_size=1000)
    for deployment in Deployment.objects.filter(pk__in=per_deployment).select_related("project"):
        audit_record(
            actor=actor,
            action="predictions.feedback",
            obj=deployment,
            project=deployment.project,
            changes={"labelled_rows": per_deployment[deployment.pk]},
        )
    return {
        "received": len(labels),
        "matched": len(matched_keys),
        "unknown": len(wanted) - len(matched_keys),
    }
