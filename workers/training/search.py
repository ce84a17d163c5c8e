"""Hyper-parameter search plans: which parameters each trial of a sweep trains with.

Pure and free of Django, like the rest of workers.training. A space maps a parameter name to
either a list of values (a bare list, or `{"values": [...]}`) or a range
`{"min", "max", "scale": "linear"|"log", "type": "int"|"float", "steps"}`. `grid` takes the
cartesian product (a range becomes `steps` points, evenly spaced in linear or log space);
`random` samples each parameter uniformly (log-uniformly for log ranges) from a seeded RNG, so
the same seed always gives the same plan. The plan is decided up front: a sweep stores it and
its trials can be audited and reproduced.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

NON_FIELD = "non_field_errors"  # problems with the space as a whole, not with one parameter
STRATEGIES = ("grid", "random")
RANGE_KEYS = frozenset({"min", "max", "scale", "type", "steps"})
DEFAULT_STEPS = 3
MAX_STEPS = 1000
MAX_PARAMS = 32
MAX_VALUES = 1000  # per list: more is a paste error, and deduplicating it would be slow
# Random draws that repeat an earlier trial are skipped; a small discrete space runs out of new
# combinations, and then the plan is shorter than max_trials rather than full of duplicates.
DRAWS_PER_TRIAL = 20

Errors = dict[str, list[str]]


def plan_trials(
    space: Any, strategy: str, max_trials: int, seed: int = 0
) -> tuple[list[dict[str, Any]], Errors]:
    """([{param: value} per trial], {param name or NON_FIELD: [messages]}); the plan is empty
    whenever there are errors."""
    if strategy not in STRATEGIES:
        return [], {NON_FIELD: [f"Unknown strategy {strategy!r}; choose grid or random."]}
    if not isinstance(max_trials, int) or isinstance(max_trials, bool) or max_trials < 1:
        return [], {NON_FIELD: ["max_trials must be a positive integer."]}
    if not isinstance(space, dict) or not space:
        return [], {NON_FIELD: ["The search space must be a non-empty object of name: spec."]}
    if len(space) > MAX_PARAMS:
        return [], {NON_FIELD: [f"At most {MAX_PARAMS} parameters can be searched at once."]}
    dimensions: dict[str, _Dimension] = {}
    errors: Errors = {}
    for name, spec in space.items():
        dimension, messages = _dimension(spec)
        if messages:
            errors[str(name)] = messages
        else:
            dimensions[str(name)] = dimension
    if errors:
        return [], errors
    if strategy == "grid":
        return _grid(dimensions, max_trials)
    return _random(dimensions, max_trials, seed), {}


class _Dimension:
    """One searched parameter: either a list of values, or a numeric range."""

    def __init__(
        self,
        *,
        values: list | None = None,
        low: float = 0.0,
        high: float = 0.0,
        log: bool = False,
        integer: bool = False,
        steps: int = DEFAULT_STEPS,
    ) -> None:
        self.values, self.low, self.high = values, low, high
        self.log, self.integer, self.steps = log, integer, steps

    def grid_points(self) -> list:
        if self.values is not None:
            return list(self.values)
        if self.steps == 1 or self.low == self.high:
            return [self._shape(self.low)]
        lo, hi = (math.log(self.low), math.log(self.high)) if self.log else (self.low, self.high)
        points = [lo + (hi - lo) * i / (self.steps - 1) for i in range(self.steps)]
        shaped = [self._shape(math.exp(p) if self.log else p) for p in points]
        return list(dict.fromkeys(shaped))  # int rounding can make neighbours equal

    def sample(self, rng: random.Random) -> Any:
        if self.values is not None:
            return rng.choice(self.values)
        if self.integer and not self.log:
            return rng.randint(math.ceil(self.low), math.floor(self.high))
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return self._shape(value)

    def _shape(self, value: float) -> int | float:
        if self.integer:
            return min(max(round(value), math.ceil(self.low)), math.floor(self.high))
        # Six significant digits: 0.0031622776601683794 reads as 0.00316228, and stays in range.
        return float(min(max(float(f"{value:.6g}"), self.low), self.high))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _dimension(spec: Any) -> tuple[_Dimension, list[str]]:
    if isinstance(spec, list):
        spec = {"values": spec}
    if not isinstance(spec, dict):
        return _Dimension(), ["Give a list of values, or a range {min, max[, scale, type, steps]}."]
    if "values" in spec:
        extra = sorted(str(k) for k in spec if k != "values")
        if extra:
            return _Dimension(), [f"A list of values takes no other keys; got {', '.join(extra)}."]
        values = spec["values"]
        if not isinstance(values, list) or not values:
            return _Dimension(), ["The list of values must not be empty."]
        if len(values) > MAX_VALUES:
            return _Dimension(), [f"At most {MAX_VALUES} values; got {len(values)}."]
        unique = []
        for value in values:
            if value not in unique:  # lists of lists (hidden_layers) are not hashable
                unique.append(value)
        return _Dimension(values=unique), []
    return _range(spec)


def _range(spec: dict) -> tuple[_Dimension, list[str]]:
    messages = []
    unknown = sorted(str(k) for k in spec if k not in RANGE_KEYS)
    if unknown:
        allowed = ", ".join(sorted(RANGE_KEYS))
        messages.append(f"Unknown key(s) {', '.join(unknown)} in a range; allowed: {allowed}.")
    low, high = spec.get("min"), spec.get("max")
    if not (_is_number(low) and _is_number(high)):
        messages.append("A range needs numeric min and max (or give a list of values).")
    elif low > high:
        messages.append(f"min ({low}) is greater than max ({high}).")
    scale = spec.get("scale", "linear")
    if scale not in ("linear", "log"):
        messages.append(f"scale must be linear or log; got {scale!r}.")
    elif scale == "log" and _is_number(low) and low <= 0:
        messages.append(f"A log range needs min > 0; got {low}.")
    kind = spec.get("type", "float")
    if kind not in ("int", "float"):
        messages.append(f"type must be int or float; got {kind!r}.")
    elif (
        kind == "int"
        and _is_number(low)
        and _is_number(high)
        and low <= high
        and math.ceil(low) > math.floor(high)
    ):
        messages.append(f"No integer lies between {low} and {high}.")
    steps = spec.get("steps", DEFAULT_STEPS)
    # Checked for random too (where it is ignored), so switching strategy never hides a typo.
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= MAX_STEPS:
        messages.append(f"steps must be an integer from 1 to {MAX_STEPS}; got {steps!r}.")
    if messages:
        return _Dimension(), messages
    return _Dimension(
        low=low, high=high, log=scale == "log", integer=kind == "int", steps=steps
    ), []


def _grid(dimensions: dict[str, _Dimension], max_trials: int) -> tuple[list[dict], Errors]:
    axes = {name: dim.grid_points() for name, dim in dimensions.items()}
    combinations = math.prod(len(points) for points in axes.values())
    if combinations > max_trials:
        sizes = " x ".join(f"{len(p)} {n}" for n, p in axes.items())
        return [], {
            NON_FIELD: [
                f"The grid has {combinations} combinations ({sizes}), more than max_trials "
                f"({max_trials}): raise max_trials, or search fewer values or steps."
            ]
        }
    names = list(axes)
    plan = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]
    return plan, {}


def _random(dimensions: dict[str, _Dimension], max_trials: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    plan: list[dict] = []
    for _ in range(max_trials * DRAWS_PER_TRIAL):
        trial = {name: dim.sample(rng) for name, dim in dimensions.items()}
        if trial not in plan:
            plan.append(trial)
            if len(plan) == max_trials:
                break
    return plan
