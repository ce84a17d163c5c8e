"""What makes a monitor's settings valid, with one message per offending field."""

from __future__ import annotations

import math
from typing import Any

from apps.datasets.models import VersionStatus
from apps.deployments.models import Deployment
from apps.monitoring.models import Monitor

MIN_ROWS_FLOOR = 5  # below this no drift test says anything
MAX_ROWS = 10_000_000
MIN_SCHEDULE_MINUTES = 5
MAX_SCHEDULE_MINUTES = 366 * 24 * 60
MAX_WINDOW_HOURS = 366 * 24

# Evidently 0.7's registered drift tests (evidently.legacy.calculations.stattests) and the
# column kinds each applies to; text-only tests are left out (monitors test tabular inputs).
DRIFT_METHODS: dict[str, tuple[str, ...]] = {
    "anderson": ("num",),
    "chisquare": ("cat",),
    "cramer_von_mises": ("num",),
    "ed": ("num",),
    "empirical_mmd": ("num",),
    "es": ("num",),
    "fisher_exact": ("cat",),
    "g_test": ("cat",),
    "hellinger": ("cat", "num"),
    "jensenshannon": ("cat", "num"),
    "kl_div": ("cat", "num"),
    "ks": ("num",),
    "mannw": ("num",),
    "psi": ("cat", "num"),
    "t_test": ("num",),
    "TVD": ("cat",),
    "wasserstein": ("num",),
    "z": ("cat",),
}
# MLflow signature types: numbers are tested as numerical columns, the rest as categorical
# (workers.drift.report.data_definition decides the same way from the data).
NUMERIC_TYPES = ("double", "float", "long", "integer", "int")


def model_inputs(deployment: Deployment) -> dict[str, str]:
    """{input name: "num" | "cat"} of the version the deployment serves now ({} if unknown)."""
    revision = deployment.current_revision
    if revision is None:
        return {}
    inputs = (revision.stable.signature or {}).get("inputs") or []
    return {
        column["name"]: "num" if column.get("type") in NUMERIC_TYPES else "cat"
        for column in inputs
        if isinstance(column, dict) and isinstance(column.get("name"), str)
    }


def monitor_errors(monitor: Monitor) -> dict[str, list[str]]:
    """Every problem of an unsaved (or changed) monitor, by field; empty when it is valid."""
    errors: dict[str, list[str]] = {}

    def bad(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    deployment = monitor.deployment
    if deployment.current_revision_id is None:
        bad("deployment", f"Deployment '{deployment.slug}' serves nothing yet; deploy first.")
    name = (monitor.name or "").strip()
    if not name:
        bad("name", "A monitor needs a name.")
    elif len(name) > 100:
        bad("name", "At most 100 characters.")
    _check_numbers(monitor, bad)
    inputs = model_inputs(deployment)
    columns = _check_columns(monitor, inputs, bad)
    _check_methods(monitor, inputs, columns, bad)
    _check_reference(monitor, columns, bad)
    return errors


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_numbers(monitor: Monitor, bad) -> None:
    if not _whole(monitor.window_hours) or not 1 <= monitor.window_hours <= MAX_WINDOW_HOURS:
        bad("window_hours", f"Must be a whole number of hours from 1 to {MAX_WINDOW_HOURS}.")
    min_rows_ok = _whole(monitor.min_rows) and MIN_ROWS_FLOOR <= monitor.min_rows <= MAX_ROWS
    if not min_rows_ok:
        bad("min_rows", f"Must be from {MIN_ROWS_FLOOR} to {MAX_ROWS}.")
    last_n = monitor.window_predictions
    if last_n is not None:
        if not _whole(last_n) or last_n > MAX_ROWS:
            bad("window_predictions", f"Must be empty or a whole number up to {MAX_ROWS}.")
        elif min_rows_ok and last_n < monitor.min_rows:
            bad(
                "window_predictions",
                f"Must be at least min_rows ({monitor.min_rows}), or every run would have "
                f"insufficient data.",
            )
    minutes = monitor.schedule_minutes
    if not _whole(minutes) or not (
        minutes == 0 or MIN_SCHEDULE_MINUTES <= minutes <= MAX_SCHEDULE_MINUTES
    ):
        bad(
            "schedule_minutes",
            f"Must be 0 (on demand only) or from {MIN_SCHEDULE_MINUTES} to "
            f"{MAX_SCHEDULE_MINUTES} minutes.",
        )
    share = monitor.drift_share
    if not _finite(share) or not 0 < share <= 1:
        bad("drift_share", "Must be above 0 and at most 1 (the share of drifted columns).")
    threshold = monitor.column_threshold
    if threshold is not None and (not _finite(threshold) or threshold <= 0):
        bad("column_threshold", "Must be empty (each method's default) or above 0.")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_columns(monitor: Monitor, inputs: dict[str, str], bad) -> list[str]:
    """The monitored columns (the model's inputs when none are named)."""
    columns = monitor.columns
    if not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns):
        bad("columns", "Must be a list of input column names.")
        return []
    if len(set(columns)) != len(columns):
        bad("columns", "Names a column twice.")
    if not columns:
        if not inputs and monitor.deployment.current_revision_id is not None:
            bad("columns", "The deployed version has no input signature: name the columns.")
        return list(inputs)
    unknown = [c for c in columns if inputs and c not in inputs]
    if unknown:
        bad(
            "columns",
            f"Not an input of the deployed model: {', '.join(map(repr, unknown))} "
            f"(inputs: {', '.join(inputs)}).",
        )
    return list(dict.fromkeys(columns))


def _check_methods(monitor: Monitor, inputs: dict[str, str], columns: list[str], bad) -> None:
    methods = monitor.per_column_method
    if not isinstance(methods, dict):
        bad("per_column_method", "Must be an object of column: method.")
        return
    for column, method in methods.items():
        if column not in columns:
            bad("per_column_method", f"{column!r} is not a monitored column.")
        elif not isinstance(method, str) or method not in DRIFT_METHODS:
            bad(
                "per_column_method",
                f"{column!r}: unknown method {method!r}; one of {', '.join(DRIFT_METHODS)}.",
            )
        elif column in inputs and inputs[column] not in DRIFT_METHODS[method]:
            kind = "numerical" if inputs[column] == "num" else "categorical"
            bad("per_column_method", f"{column!r}: {method} does not apply to {kind} columns.")


def _check_reference(monitor: Monitor, columns: list[str], bad) -> None:
    reference = monitor.reference_dataset_version
    if reference is None:
        return
    if reference.dataset.project_id != monitor.deployment.project_id:
        # As if it did not exist: another project's data is not this project's business.
        bad("reference_dataset_version", f"No dataset version with id {reference.pk}.")
        return
    if reference.status != VersionStatus.READY:
        bad("reference_dataset_version", f"Version {reference} is {reference.status}, not ready.")
        return
    names = {c.get("name") for c in reference.schema or [] if isinstance(c, dict)}
    missing = [c for c in columns if c not in names]
    if missing:
        bad(
            "reference_dataset_version",
            f"Version {reference} has no column(s) {', '.join(map(repr, missing))}.",
        )
