"""The portal's Celery app.

Two queues: `default` (any worker) and `gpu` (workers on GPU hosts). Tasks acknowledge late and
are re-queued if their worker dies, so a task body must be idempotent; the job-tracking base in
apps.core.jobs makes the job row the source of truth and refuses to run a finished job twice.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

QUEUES = ("default", "gpu")

app = Celery("portal")


def _configure(app: Celery) -> None:
    from django.conf import settings

    transport_options: dict = {"visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT}
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        folder = settings.BROKER_DIR
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        transport_options.update(
            data_folder_in=str(folder / "queue"),
            data_folder_out=str(folder / "queue"),
            processed_folder=str(folder / "processed"),
            # kombu's default is ./control: routing tables would land in the working directory.
            control_folder=str(folder / "control"),
            store_processed=False,
        )
    app.conf.update(
        broker_url=settings.CELERY_BROKER_URL,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        result_backend=None,
        task_ignore_result=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="default",
        # One exchange per queue: a job sent to `gpu` must never also land on `default`.
        task_queues=tuple(Queue(name, Exchange(name), routing_key=name) for name in QUEUES),
        task_default_exchange="default",
        task_default_routing_key="default",
        task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER,
        timezone="UTC",
        beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
        beat_schedule={
            "reap-stale-jobs": {
                "task": "core.reap_stale_jobs",
                "schedule": float(settings.JOB_REAP_INTERVAL_SECONDS),
                "options": {"queue": "default", "expires": settings.JOB_REAP_INTERVAL_SECONDS},
            },
            # Runs logged straight to MLflow (scripts, notebooks) reach the runs table.
            "sync-mlflow-runs": {
                "task": "experiments.sync_runs",
                "schedule": float(settings.RUNS_SYNC_INTERVAL_SECONDS),
                "options": {"queue": "default", "expires": settings.RUNS_SYNC_INTERVAL_SECONDS},
            },
            "advance-sweeps": {
                "task": "experiments.advance_sweeps",
                "schedule": float(settings.JOB_REAP_INTERVAL_SECONDS),
                "options": {"queue": "default", "expires": settings.JOB_REAP_INTERVAL_SECONDS},
            },
            "expire-promotions": {
                "task": "registry.expire_promotions",
                "schedule": 300.0,
                "options": {"queue": "default", "expires": 300},
            },
            # Approved promotions whose MLflow alias is not set yet (MLflow was down).
            "reconcile-mlflow-registry": {
                "task": "registry.reconcile_mlflow",
                "schedule": 120.0,
                "options": {"queue": "default", "expires": 120},
            },
            # Webhook deliveries whose retry message was lost are sent again.
            "resend-due-webhooks": {
                "task": "notifications.resend_due_webhooks",
                "schedule": float(settings.JOB_REAP_INTERVAL_SECONDS),
                "options": {"queue": "default", "expires": settings.JOB_REAP_INTERVAL_SECONDS},
            },
            # Budget alerts at 80% / 100% (also checked when a training job ends).
            "check-budgets": {
                "task": "costs.check_budgets",
                "schedule": float(settings.BUDGET_CHECK_INTERVAL_SECONDS),
                "options": {"queue": "default", "expires": settings.BUDGET_CHECK_INTERVAL_SECONDS},
            },
            "sync-mlflow-runs-full": {
                "task": "experiments.sync_runs",
                "schedule": float(settings.RUNS_FULL_SYNC_INTERVAL_SECONDS),
                "kwargs": {"full": True},
                "options": {"queue": "default"},
            },
        },
        worker_hijack_root_logger=False,
    )


_configure(app)
app.autodiscover_tasks()
import apps.core.celery_signals  # noqa: E402, F401  (request ids into tasks, worker logging)
