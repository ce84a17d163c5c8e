"""Impact analysis: "what depends on this?" for a dataset version or a model version, and the
service that asks reviewers to look again at the affected models (it never changes a stage).

Read straight from the foreign keys in three queries whatever the size: the start node, the
model versions trained on it, the deployments whose current revision serves one of them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from rest_framework.exceptions import NotFound, ValidationError

from apps.core.models import Membership, Project, Role
from apps.core.permissions import require_role, scope_to_member_projects
from apps.core.services.audit import audit_record
from apps.datasets.models import DatasetVersion
from apps.deployments.models import Deployment
from apps.notifications.services import notify
from apps.registry.models import ModelVersion, Stage

IMPACT_KINDS = ("dataset_version", "model_version")
LIVE_STAGES = (Stage.STAGING, Stage.PRODUCTION)
MAX_REASON = 2000
EVENT = "lineage.review_requested"


@dataclass
class Serving:
    deployment: Deployment
    role: str  # "stable" or "candidate" in the deployment's current revision


@dataclass
class AffectedVersion:
    version: ModelVersion
    serving: list[Serving] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.version.stage in LIVE_STAGES


@dataclass
class Impact:
    kind: str
    node: DatasetVersion | ModelVersion
    project: Project
    label: str
    versions: list[AffectedVersion]

    @property
    def node_id(self) -> str:
        return f"{self.kind}:{self.node.pk}"

    @property
    def node_url(self) -> str:
        name = "dataset-version-detail" if self.kind == "dataset_version" else "model-version"
        return reverse(name, args=[self.node.pk])

    @property
    def deployments(self) -> list[Deployment]:
        seen: dict[int, Deployment] = {}
        for affected in self.versions:
            for serving in affected.serving:
                seen.setdefault(serving.deployment.pk, serving.deployment)
        return list(seen.values())

    @property
    def counts(self) -> dict[str, int]:
        return {
            "models": len(self.versions),
            "staging": sum(a.version.stage == Stage.STAGING for a in self.versions),
            "production": sum(a.version.stage == Stage.PRODUCTION for a in self.versions),
            "deployments": len(self.deployments),
        }


def _start(user: AbstractBaseUser, kind: str, pk: int) -> tuple:
    if kind == "dataset_version":
        dv = scope_to_member_projects(
            DatasetVersion.objects.select_related("dataset__project"), user, "dataset__project"
        ).filter(pk=pk).first()  # fmt: skip
        if dv is None:
            return None, None, ""
        return dv, dv.dataset.project, f"{dv.dataset.name} v{dv.version}"
    mv = scope_to_member_projects(
        ModelVersion.objects.select_related("registered_model__project"),
        user, "registered_model__project",
    ).filter(pk=pk).first()  # fmt: skip
    if mv is None:
        return None, None, ""
    return mv, mv.registered_model.project, f"{mv.registered_model.name} v{mv.version}"


def impact_of(*, user: AbstractBaseUser, kind: str, pk: int) -> Impact | None:
    """None when the node does not exist or the user may not see it. Lists only the model
    versions and deployments of the user's projects."""
    if kind not in IMPACT_KINDS:
        return None
    node, project, label = _start(user, kind, pk)
    if node is None:
        return None
    if kind == "dataset_version":
        # A version registered outside the portal has no training job but may still name its
        # dataset version; either foreign key makes it depend on this data.
        where = Q(dataset_version_id=pk) | Q(training_job__dataset_version_id=pk)
        versions = list(
            scope_to_member_projects(
                ModelVersion.objects.filter(where).select_related("registered_model__project"),
                user, "registered_model__project",
            ).order_by("registered_model__name", "-version")
        )  # fmt: skip
    else:
        versions = [node]
    affected = {mv.pk: AffectedVersion(version=mv) for mv in versions}
    if affected:
        deployments = scope_to_member_projects(
            Deployment.objects.filter(
                Q(current_revision__stable_id__in=list(affected))
                | Q(current_revision__candidate_id__in=list(affected))
            ).select_related("current_revision"),
            user, "project",
        ).order_by("slug")  # fmt: skip
        for dep in deployments:
            rev = dep.current_revision
            if rev.stable_id in affected:
                affected[rev.stable_id].serving.append(Serving(dep, "stable"))
            if rev.candidate_id in affected:
                affected[rev.candidate_id].serving.append(Serving(dep, "candidate"))
    return Impact(kind=kind, node=node, project=project, label=label,
                  versions=list(affected.values()))  # fmt: skip


def _reviewers(project_ids: set[int], actor: AbstractBaseUser) -> dict[int, list]:
    found: dict[int, list] = defaultdict(list)
    members = Membership.objects.filter(
        project_id__in=project_ids, role__in=[Role.REVIEWER, Role.ADMIN]
    ).select_related("user").order_by("user__username")  # fmt: skip
    for m in members:
        if m.user_id != actor.pk:  # the requester knows already
            found[m.project_id].append(m.user)
    return found


def _describe(affected: list[AffectedVersion]) -> list[dict]:
    return [
        {
            "model_version": a.version.pk,
            "model": a.version.registered_model.name,
            "version": a.version.version,
            "stage": a.version.stage,
            "deployments": [s.deployment.slug for s in a.serving],
        }
        for a in affected
    ]


def impact_review_request(
    *, actor: AbstractBaseUser, kind: str, pk: int, reason: str
) -> tuple[Impact, int]:
    """Tell the reviewers and admins of every project owning an affected model (and of the
    node's own project) that these models need another look, with the requester's reason.
    Records one audit event; changes no stage. Returns the impact and how many people were
    told."""
    impact = impact_of(user=actor, kind=kind, pk=pk)
    if impact is None:
        raise NotFound("Not found.")
    require_role(actor, impact.project, Role.CONTRIBUTOR)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why these models need a review."]})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": [f"At most {MAX_REASON} characters."]})
    if not impact.versions:
        raise ValidationError({"node": ["No model version depends on this; nothing to review."]})
    by_project: dict[int, list[AffectedVersion]] = defaultdict(list)
    projects = {impact.project.pk: impact.project}
    for a in impact.versions:
        project = a.version.registered_model.project
        projects[project.pk] = project
        by_project[project.pk].append(a)
    url = f"{reverse('lineage-impact')}?node={impact.node_id}"
    told = 0
    with transaction.atomic():
        audit_record(
            actor=actor, action=EVENT, obj=impact.node, project=impact.project,
            changes={"reason": reason, "model_versions": _describe(impact.versions),
                     "deployments": [d.slug for d in impact.deployments]},
        )  # fmt: skip
        reviewers = _reviewers(set(projects), actor)
        for project_id, project in projects.items():
            mine = by_project.get(project_id, [])
            if not mine and project_id != impact.project.pk:
                continue
            lines = [
                f"- {a.version.registered_model.name} v{a.version.version} ({a.version.stage})"
                + (f", served by {', '.join(s.deployment.slug for s in a.serving)}"
                   if a.serving else "")
                for a in mine
            ]  # fmt: skip
            body = f"{reason}\n\nAffected model versions:\n" + ("\n".join(lines) or "- (none here)")
            users = reviewers.get(project_id, [])
            told += len(users)
            notify(
                event=EVENT, project=project, users=users, url=url, body=body,
                title=f"Review requested by {actor.get_username()}: models trained on "
                      f"{impact.label}" if kind == "dataset_version" else
                      f"Review requested by {actor.get_username()}: {impact.label}",
                payload={"node": impact.node_id, "label": impact.label, "reason": reason,
                         "requested_by": actor.get_username(), "url": url,
                         "model_versions": _describe(mine)},
            )  # fmt: skip
    return impact, told
