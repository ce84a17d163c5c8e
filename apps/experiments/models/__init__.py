from apps.experiments.models.experiments import Experiment, Task, TrainingJob
from apps.experiments.models.runs import Run, RunStatus
from apps.experiments.models.sweeps import Direction, Strategy, Sweep, SweepStatus

__all__ = [
    "Direction",
    "Experiment",
    "Run",
    "RunStatus",
    "Strategy",
    "Sweep",
    "SweepStatus",
    "Task",
    "TrainingJob",
]
