"""Writes for experiments, training jobs, runs and sweeps. Each audits itself in its transaction."""

from apps.experiments.services.sweeps import (
    sweep_advance,
    sweep_cancel,
    sweep_check,
    sweep_create,
)
from apps.experiments.services.training import (
    LOG_TAIL_CHARS,
    check_training_input,
    training_job_cancel,
    training_job_complete,
    training_job_create,
    training_job_record_epoch,
    training_job_rerun,
    training_job_started,
)

__all__ = [
    "LOG_TAIL_CHARS",
    "check_training_input",
    "sweep_advance",
    "sweep_cancel",
    "sweep_check",
    "sweep_create",
    "training_job_cancel",
    "training_job_complete",
    "training_job_create",
    "training_job_record_epoch",
    "training_job_rerun",
    "training_job_started",
]
