"""Costs' hook on training jobs: check the project's budget once the job's ending is committed
(its cost, priced from the rate table by the training service, then counts in the month's
spend)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction

from apps.core.jobs import add_job_end_hook
from apps.costs.services import budget_check_safe


def on_training_end(job: Any, reason: str) -> None:
    transaction.on_commit(partial(budget_check_safe, project_id=job.project_id), robust=True)


add_job_end_hook("training.train", on_training_end)
