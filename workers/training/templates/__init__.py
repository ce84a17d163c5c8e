"""The template registry. A template is one module in this package that defines
`TEMPLATE = Template(...)`: its parameters and a `build(n_inputs, n_outputs, params)` that returns
a torch module mapping a float32 (batch, n_inputs) tensor to (batch, n_outputs) logits or values.

Modules are discovered on first use, so adding `templates/resnet.py` is the whole change. Template
modules import torch inside `build` only, which keeps parameter schemas cheap for the web process.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from workers.training.params import ParamSpec


@dataclass(frozen=True)
class Template:
    name: str
    help: str
    params: tuple[ParamSpec, ...]
    build: Callable[[int, int, dict[str, Any]], torch.nn.Module]


@functools.cache
def _registry() -> dict[str, Template]:
    from workers.training.params import COMMON_PARAMS, PARAM_TYPES

    found: dict[str, Template] = {}
    common = {spec.name for spec in COMMON_PARAMS}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        template = getattr(module, "TEMPLATE", None)
        if not isinstance(template, Template):
            continue
        # These are programming errors in a new template; fail loudly at discovery.
        if template.name in found:
            raise RuntimeError(f"two templates are named {template.name!r}")
        for spec in template.params:
            if spec.name in common or spec.type not in PARAM_TYPES:
                raise RuntimeError(f"template {template.name!r}: bad parameter {spec.name!r}")
        found[template.name] = template
    return found


def names() -> list[str]:
    return sorted(_registry())


def get(name: str) -> Template:
    """Raises KeyError for an unknown template."""
    return _registry()[name]
