"""linear: one affine layer. With cross-entropy it is (multinomial) logistic regression, with
squared error it is linear regression."""

from __future__ import annotations

from typing import Any

from workers.training.templates import Template


def build(n_inputs: int, n_outputs: int, params: dict[str, Any]):
    from torch import nn

    # Sequential of stock layers: the pickled model needs no portal code to load.
    return nn.Sequential(nn.Linear(n_inputs, n_outputs))


TEMPLATE = Template(
    name="linear",
    help="Logistic regression (classification) or linear regression (regression).",
    params=(),
    build=build,
)
