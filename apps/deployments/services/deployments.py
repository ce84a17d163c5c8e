"""Deployments: one per registered model and environment, created on demand."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from apps.core.models import Role
from apps.core.permissions import require_role
from apps.core.services.audit import audit_record
from apps.deployments.models import Deployment, Environment
from apps.registry.models import RegisteredModel

SLUG_MAX = 100


def _free_slug(base: str) -> str:
    base = (slugify(base) or "deployment")[: SLUG_MAX - 6].strip("-")
    slug, n = base, 2
    while Deployment.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def deployment_for(
    *, model: RegisteredModel, environment: str, actor: AbstractBaseUser | None = None
) -> Deployment:
    """Get or create the deployment of `model` in `environment` (slug `<model>-<environment>`).

    No role check here: callers are services that already checked (an approved promotion), or
    `deployment_create`."""
    if environment not in Environment.values:
        raise ValueError(f"unknown environment {environment!r}")
    existing = Deployment.objects.filter(registered_model=model, environment=environment).first()
    if existing is not None:
        return existing
    try:
        # A savepoint: a concurrent creator winning the unique constraint must not poison the
        # caller's transaction (an approval).
        with transaction.atomic():
            deployment = Deployment.objects.create(
                project=model.project,
                registered_model=model,
                environment=environment,
                slug=_free_slug(f"{model.name}-{environment}"),
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            audit_record(
                actor=actor, action="deployment.create", obj=deployment, project=model.project,
                changes={"model": model.name, "environment": environment,
                         "slug": deployment.slug},
            )  # fmt: skip
    except IntegrityError:
        return Deployment.objects.get(registered_model=model, environment=environment)
    return deployment


def deployment_create(
    *, actor: AbstractBaseUser, model: RegisteredModel, environment: str
) -> tuple[Deployment, bool]:
    """The API's create: a contributor opens the deployment; returns (deployment, created)."""
    require_role(actor, model.project, Role.CONTRIBUTOR)
    existed = Deployment.objects.filter(registered_model=model, environment=environment).exists()
    with transaction.atomic():
        deployment = deployment_for(model=model, environment=environment, actor=actor)
    return deployment, not existed
