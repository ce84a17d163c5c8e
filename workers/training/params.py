"""Parameter specs and their validation: plain data, no torch, so the web process can build forms
and validate API input without importing the training stack."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from workers.training import templates

PARAM_TYPES = ("int", "float", "bool", "choice", "int_list")
MAX_LIST_ITEMS = 8  # int_list: more hidden layers than this is a typo, not a model


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: `min`/`max` bound numbers (each element of an int_list), inclusive."""

    name: str
    type: str
    default: Any
    min: float | int | None = None
    max: float | int | None = None
    choices: tuple[str, ...] | None = None
    help: str = ""

    def as_dict(self) -> dict:
        return {
            "type": self.type,
            "default": copy.deepcopy(self.default),
            "min": self.min,
            "max": self.max,
            "choices": list(self.choices) if self.choices is not None else None,
            "help": self.help,
        }


COMMON_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("epochs", "int", 20, 1, 10_000, help="Passes over the training split."),
    ParamSpec("batch_size", "int", 64, 1, 1_048_576, help="Rows per optimiser step."),
    ParamSpec("learning_rate", "float", 1e-3, 1e-7, 10.0, help="Optimiser step size."),
    ParamSpec(
        "optimizer",
        "choice",
        "adam",
        choices=("adam", "sgd", "adamw"),
        help="adam, adamw (decoupled weight decay) or sgd (with momentum 0.9).",
    ),
    ParamSpec("weight_decay", "float", 0.0, 0.0, 1.0, help="L2 penalty on the weights."),
    ParamSpec(
        "validation_fraction",
        "float",
        0.2,
        0.05,
        0.5,
        help="Share of rows held out for early stopping and the final metrics "
        "(stratified by class for classification).",
    ),
    ParamSpec(
        "seed", "int", 42, 0, 2**32 - 1, help="Seeds the split, initialisation and shuffling."
    ),
    ParamSpec(
        "early_stopping_patience",
        "int",
        5,
        0,
        10_000,
        help="Stop after this many epochs without a better validation loss; 0 turns it off. "
        "The best epoch's weights are kept.",
    ),
    ParamSpec(
        "device",
        "choice",
        "auto",
        choices=("auto", "cpu", "cuda"),
        help="auto uses CUDA when the worker has it; cuda fails on a worker without it.",
    ),
)


def template_names() -> list[str]:
    return templates.names()


def param_schema(template: str) -> dict[str, dict]:
    """{name: {"type", "default", "min", "max", "choices", "help"}}: common, then the template's.
    Raises KeyError for an unknown template."""
    return {spec.name: spec.as_dict() for spec in _specs(template)}


def validate_params(template: str, params: dict) -> tuple[dict, dict[str, list[str]]]:
    """(cleaned params with defaults filled in, {param name: [messages]}). Nothing is coerced:
    "3" is not an int and True is not a number, because a silently reinterpreted hyperparameter
    is worse than a 400."""
    if template not in templates.names():
        choices = ", ".join(templates.names())
        return {}, {"template": [f"Unknown template {template!r}; choose one of {choices}."]}
    if not isinstance(params, dict):
        return {}, {"params": ["Parameters must be an object of name: value pairs."]}
    specs = {spec.name: spec for spec in _specs(template)}
    errors: dict[str, list[str]] = {}
    for name in params:
        if name not in specs:
            errors[str(name)] = [f"Unknown parameter for template {template!r}."]
    cleaned: dict = {}
    for name, spec in specs.items():
        if name not in params:
            cleaned[name] = copy.deepcopy(spec.default)
            continue
        value, messages = _check(spec, params[name])
        if messages:
            errors[name] = messages
            cleaned[name] = copy.deepcopy(spec.default)
        else:
            cleaned[name] = value
    return cleaned, errors


def _specs(template: str) -> tuple[ParamSpec, ...]:
    return COMMON_PARAMS + templates.get(template).params


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(spec: ParamSpec, value: Any) -> tuple[Any, list[str]]:
    if spec.type == "bool":
        if not isinstance(value, bool):
            return None, ["Must be true or false."]
        return value, []
    if spec.type == "choice":
        if not isinstance(value, str) or value not in (spec.choices or ()):
            return None, [f"Must be one of {', '.join(spec.choices or ())}; got {value!r}."]
        return value, []
    if spec.type == "int":
        if not _is_int(value):
            return None, [f"Must be an integer; got {value!r}."]
        return value, _range(spec, value)
    if spec.type == "float":
        if not (_is_int(value) or isinstance(value, float)):
            return None, [f"Must be a number; got {value!r}."]
        if not math.isfinite(value):
            return None, ["Must be a finite number."]
        return float(value), _range(spec, value)
    if spec.type == "int_list":
        if not isinstance(value, list | tuple) or not all(_is_int(item) for item in value):
            return None, [f"Must be a list of integers; got {value!r}."]
        if not 1 <= len(value) <= MAX_LIST_ITEMS:
            return None, [f"Must have between 1 and {MAX_LIST_ITEMS} items; got {len(value)}."]
        messages = [
            f"Item {i + 1}: {message}"
            for i, item in enumerate(value)
            for message in _range(spec, item)
        ]
        return list(value), messages
    raise ValueError(f"unknown parameter type {spec.type!r}")  # a bug in a template, not input


def _range(spec: ParamSpec, value: float) -> list[str]:
    if spec.min is not None and value < spec.min:
        return [f"Must be at least {spec.min}; got {value}."]
    if spec.max is not None and value > spec.max:
        return [f"Must be at most {spec.max}; got {value}."]
    return []
