"""Reads for experiments, training jobs, runs and sweeps, narrowed to the caller's projects."""

from apps.experiments.selectors.sweeps import (
    sweep_leaderboard,
    sweep_leaderboard_rows,
    sweep_list,
    sweep_progress,
)
from apps.experiments.selectors.training import experiment_list, training_job_list

__all__ = [
    "experiment_list",
    "sweep_leaderboard",
    "sweep_leaderboard_rows",
    "sweep_list",
    "sweep_progress",
    "training_job_list",
]
