"""The one exception the portal shows to people when a training job cannot run."""

from __future__ import annotations


class TrainingError(Exception):
    """A job the worker refuses, with a reason a person can act on (shown as the job's failure
    message), e.g. "The target column 'price' is not in the dataset." """
