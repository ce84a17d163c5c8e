"""The whole loop, once, on whatever database and broker the portal runs on.

data -> training -> promotion (two reviewers) -> deployment -> predictions -> drift job ->
alert -> retraining -> a new promotion request waiting for review. Every write goes through the
same services the pages and the API use; jobs run on a real Celery worker; predictions go
through the real serving view, so the prediction log is filled the way production fills it.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from apps.core.models import Job, JobStatus, Membership, Project, Role
from apps.core.services.projects import membership_add, project_create
from apps.datasets import storage
from apps.datasets.models import Dataset, DatasetVersion
from apps.datasets.services import dataset_create, dataset_version_upload
from apps.datasets.uploads import HashedUploadedFile
from apps.deployments import predlog
from apps.deployments.models import Deployment
from apps.deployments.services.tokens import deployment_token_rotate
from apps.experiments.services.training import training_job_create
from apps.monitoring.models import Alert, DriftReport, Monitor, RetrainRun
from apps.registry.models import ModelVersion, PromotionRequest
from apps.registry.services.policies import policy_update
from apps.registry.services.promotions import promotion_approve, promotion_request_create

PROJECT = "demo"
REVIEWERS = ("reviewer1", "reviewer2")
FEATURES = ("tenure", "monthly_spend", "support_calls", "plan")


class DemoError(RuntimeError):
    """A step did not reach the state the next one needs; the message says which and why."""


@dataclass
class Say:
    """Where the demo prints: a step header, a detail line, a link."""

    line: Callable[[str], None]
    base_url: str

    def step(self, number: int, text: str) -> None:
        self.line(f"\n[{number}] {text}")

    def detail(self, text: str) -> None:
        self.line(f"    {text}")

    def link(self, label: str, path: str) -> None:
        self.line(f"    {label}: {self.base_url.rstrip('/')}{path}")


def customers(n: int, *, seed: int, shift: float = 0.0) -> list[dict]:
    """Rows of a churn-like table; `shift` moves the numbers up and the plans to "premium"."""
    rng = np.random.default_rng(seed)
    plans = np.array(["basic", "standard", "premium"])
    rows = []
    for _ in range(n):
        tenure = max(0.0, rng.normal(24 + 30 * shift, 10))
        spend = max(5.0, rng.normal(60 + 40 * shift, 15))
        calls = int(rng.poisson(2 + 3 * shift))
        plan = "premium" if shift and rng.random() < 0.8 else str(plans[rng.integers(0, 3)])
        rows.append(
            {"tenure": round(tenure, 2), "monthly_spend": round(spend, 2),
             "support_calls": calls, "plan": plan}
        )  # fmt: skip
    return rows


def _label(row: dict) -> str:
    # Churn rises with support calls and spend, falls with tenure; about half churn.
    score = 0.5 * row["support_calls"] - 0.05 * row["tenure"] + 0.01 * row["monthly_spend"]
    return "yes" if score > 0.4 else "no"


def _csv(rows: list[dict]) -> bytes:
    lines = [",".join((*FEATURES, "churned"))]
    lines += [",".join(str(r[f]) for f in FEATURES) + f",{_label(r)}" for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _upload(content: bytes, name: str) -> HashedUploadedFile:
    with tempfile.NamedTemporaryFile(dir=storage.tmp_dir(), delete=False) as handle:
        handle.write(content)
    return HashedUploadedFile.from_path(Path(handle.name), name)


def _store(owner, dataset: Dataset, content: bytes, name: str) -> DatasetVersion:
    upload = _upload(content, name)
    try:
        return dataset_version_upload(actor=owner, dataset=dataset, upload=upload)
    finally:
        upload.close()  # the temp file goes unless the upload moved it into the blob store


def _wait_job(job_id: int, say: Say, what: str, timeout: float) -> Job:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.message and job.message != shown:
            shown = job.message
            say.detail(f"{what}: {job.status} {shown}")
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
            if job.status != JobStatus.SUCCEEDED:
                raise DemoError(f"{what} ended {job.status}: {job.error or job.message}")
            return job
        time.sleep(0.5)
    raise DemoError(
        f"{what} (job {job_id}) did not finish in {timeout:.0f}s: is a Celery worker running?"
    )


def _wait(predicate: Callable[[], object], what: str, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}")


def _people(say: Say) -> tuple[AbstractBaseUser, Project, list[AbstractBaseUser]]:
    users = get_user_model()
    owner, created = users.objects.get_or_create(
        username=settings.DEMO_USERNAME,
        defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"},
    )
    if created:
        owner.set_password(settings.DEMO_PASSWORD)
        owner.save(update_fields=["password"])
    project = Project.objects.filter(slug=PROJECT).first() or project_create(
        creator=owner, slug=PROJECT, name="Demo project", description="The portal's demo."
    )
    reviewers = []
    for name in REVIEWERS:
        user, made = users.objects.get_or_create(username=name)
        if made:
            user.set_password(settings.DEMO_PASSWORD)
            user.save(update_fields=["password"])
        if not Membership.objects.filter(project=project, user=user).exists():
            membership_add(actor=owner, project=project, username=name, role=Role.REVIEWER)
        reviewers.append(user)
    say.detail(
        f"requester {owner.username}; reviewers {', '.join(REVIEWERS)} "
        f"(password {settings.DEMO_PASSWORD})"
    )
    return owner, project, reviewers


def _promote(owner, reviewers, version: ModelVersion, target: str, why: str, say: Say) -> None:
    request = promotion_request_create(
        actor=owner, model_version=version, target=target, justification=why
    )
    say.detail(f"promotion request #{request.pk} to {target}: gates passed={request.gates_passed}")
    for reviewer in reviewers:
        request = promotion_approve(actor=reviewer, request=request, comment="demo review")
        say.detail(f"  {reviewer.username} approved -> {request.status}")
    if request.status != "approved":
        raise DemoError(f"promotion request #{request.pk} is {request.status}, not approved")
    say.link("request", f"/promotions/{request.pk}/")


def _serve(deployment: Deployment, token: str, rows: list[dict], batch: int = 100) -> int:
    client = Client()
    sent = 0
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        response = client.post(
            f"/serve/{deployment.slug}/predict",
            data=json.dumps({"instances": chunk}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        if response.status_code != 200:
            raise DemoError(f"serving answered {response.status_code}: {response.content[:300]!r}")
        sent += len(chunk)
    predlog.writer.flush()
    return sent


def run_loop(say: Say, *, rows: int = 1500, window: int = 400, timeout: float = 600) -> dict:
    """Runs the loop; returns the ids of what it made. Raises DemoError when a step fails."""
    from apps.monitoring.services.drift import drift_run_request
    from apps.monitoring.services.monitors import monitor_create
    from apps.monitoring.services.retrain import retrain_policy_create

    say.step(1, "People: a requester and two reviewers in the demo project")
    owner, project, reviewers = _people(say)
    run = Dataset.objects.filter(project=project, name__startswith="churn-loop-").count() + 1
    name = f"churn-loop-{run}"
    seed = int(time.time())

    say.step(2, f"Data: dataset {name}, {rows} customers, uploaded and validated")
    dataset = dataset_create(actor=owner, project=project, name=name, description="Demo loop.")
    version = _store(owner, dataset, _csv(customers(rows, seed=seed)), "v1.csv")
    _wait_job(version.job_id, say, "processing", timeout)
    version = DatasetVersion.objects.get(pk=version.pk)
    say.link("dataset", f"/datasets/{dataset.pk}/")

    say.step(3, "Training: an MLP on the GPU queue (the CPU here), logged to MLflow")
    for stage, approvals in (("staging", len(reviewers)), ("production", len(reviewers))):
        policy_update(
            actor=owner, model=_model_stub(project, name), stage=stage,
            approvals_required=approvals, primary_metric="accuracy", direction="max",
        )  # fmt: skip
    training = training_job_create(
        actor=owner, project=project, experiment=name, dataset_version=version,
        target="churned", task="classification", template="mlp",
        params={"epochs": 8, "hidden_layers": [32], "seed": 7}, model_name=name,
    )  # fmt: skip
    _wait_job(training.job_id, say, "training", timeout)
    first = ModelVersion.objects.get(training_job=training)
    say.detail(f"model {name} version {first.version}: {first.metrics}")
    say.link("training job", f"/training/{training.pk}/")

    say.step(4, "Promotion: staging, then production, each approved by both reviewers")
    _promote(owner, reviewers, first, "staging", "Demo: first model of the loop.", say)
    _promote(owner, reviewers, first, "production", "Demo: staging looked fine.", say)
    deployment = Deployment.objects.get(registered_model=first.registered_model_id,
                                        environment="production")  # fmt: skip
    token = deployment_token_rotate(actor=owner, deployment=deployment)
    say.detail(f"deployment {deployment.slug} serves version {first.version}")
    say.link("deployment", f"/deployments/{deployment.slug}/")

    say.step(5, "Monitoring: a drift monitor on the last predictions, retraining on drift")
    monitor = monitor_create(
        actor=owner, deployment=deployment, name="drift", window_hours=24,
        window_predictions=window, schedule_minutes=0, min_rows=100,
    )  # fmt: skip
    policy = retrain_policy_create(
        actor=owner, registered_model=first.registered_model, on_drift_alert=True,
        cooldown_minutes=60,
    )  # fmt: skip
    say.link("monitoring", f"/monitoring/{deployment.slug}/")

    say.step(6, f"Traffic like the training data: {window} predictions, then a drift run")
    _serve(deployment, token, customers(window, seed=seed + 1))
    calm = _drift(drift_run_request, owner, monitor, say, timeout)
    if Alert.objects.filter(monitor=monitor).exists():
        raise DemoError(f"an alert opened on traffic like the training data: report #{calm.pk}")
    say.detail("no alert")

    say.step(7, "New data: labelled customers of the new kind arrive as version 2 of the dataset")
    newer = customers(rows, seed=seed) + customers(rows // 2, seed=seed + 3, shift=1.0)
    version2 = _store(owner, dataset, _csv(newer), "v2.csv")
    _wait_job(version2.job_id, say, "processing", timeout)
    say.detail(f"{len(newer)} rows; the retrain policy trains on the latest valid version")
    say.link("dataset", f"/datasets/{dataset.pk}/")

    say.step(8, f"Shifted traffic: {window} predictions from longer-tenure premium customers")
    _serve(deployment, token, customers(window, seed=seed + 2, shift=1.0))
    shifted = _drift(drift_run_request, owner, monitor, say, timeout)
    alert = Alert.objects.filter(monitor=monitor).first()
    if alert is None:
        raise DemoError(f"no alert after shifted traffic: report #{shifted.pk}")
    say.detail(f"alert #{alert.pk} {alert.status}: {alert.message}")
    say.link("alerts", "/alerts/")

    say.step(9, "Retraining: the policy launched a job with production's template and params")
    retrain = _wait(
        lambda: RetrainRun.objects.filter(policy=policy).exclude(status="skipped").first(),
        "the retraining run", 60,
    )  # fmt: skip
    if retrain.training_job_id is None:
        raise DemoError(f"retraining run #{retrain.pk} is {retrain.status}: {retrain.reason}")
    _wait_job(retrain.training_job.job_id, say, "retraining", timeout)
    retrain = _wait(
        lambda: RetrainRun.objects.filter(pk=retrain.pk, promotion_request__isnull=False).first()
        or _failed(retrain.pk),
        "the promotion request of the retrained version", 60,
    )  # fmt: skip
    request = PromotionRequest.objects.select_related("model_version").get(
        pk=retrain.promotion_request_id
    )
    say.detail(
        f"version {request.model_version.version} trained; promotion request #{request.pk} to "
        f"{request.target} is {request.status} (gates passed={request.gates_passed})"
    )
    say.detail(f"justification: {request.justification}")
    say.link("review it", f"/promotions/{request.pk}/")
    say.line("\nThe loop is closed: nothing reaches staging until a reviewer approves the request.")
    return {
        "dataset": dataset.pk, "dataset_versions": [version.pk, version2.pk],
        "deployment": deployment.slug, "monitor": monitor.pk,
        "alert": alert.pk, "retrain_run": retrain.pk, "promotion_request": request.pk,
        "reports": [calm.pk, shifted.pk],
    }  # fmt: skip


def _failed(run_id: int) -> None:
    run = RetrainRun.objects.get(pk=run_id)
    if run.status == "failed":
        raise DemoError(f"retraining run #{run.pk} failed: {run.reason}")
    return None


def _drift(request_run, owner, monitor: Monitor, say: Say, timeout: float) -> DriftReport:
    report = request_run(actor=owner, monitor=monitor, trigger="manual")
    _wait_job(report.job_id, say, "drift job", timeout)
    report = DriftReport.objects.get(pk=report.pk)
    drifted = [c["column"] for c in report.columns if c.get("drifted")]
    say.detail(
        f"report #{report.pk}: {report.status}, dataset drift {report.dataset_drift}, share "
        f"{report.drift_share}, drifted: {', '.join(drifted) or 'none'}"
    )
    return report


def _model_stub(project: Project, name: str):
    """The registered model must exist to hold its promotion policies before it has versions."""
    from apps.registry.models import RegisteredModel

    model, _ = RegisteredModel.objects.get_or_create(name=name, defaults={"project": project})
    return model
