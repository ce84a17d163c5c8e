"""mlp: a feed-forward network of Linear -> [BatchNorm] -> activation -> [Dropout] blocks."""

from __future__ import annotations

from typing import Any

from workers.training.params import ParamSpec
from workers.training.templates import Template

ACTIVATIONS = ("relu", "gelu", "tanh", "silu", "leaky_relu")


def build(n_inputs: int, n_outputs: int, params: dict[str, Any]):
    from torch import nn

    activation = {
        "relu": nn.ReLU,
        "gelu": nn.GELU,
        "tanh": nn.Tanh,
        "silu": nn.SiLU,
        "leaky_relu": nn.LeakyReLU,
    }[params["activation"]]
    layers: list[nn.Module] = []
    width = n_inputs
    for size in params["hidden_layers"]:
        layers.append(nn.Linear(width, size))
        if params["batch_norm"]:
            layers.append(nn.BatchNorm1d(size))
        layers.append(activation())
        if params["dropout"] > 0:
            layers.append(nn.Dropout(params["dropout"]))
        width = size
    layers.append(nn.Linear(width, n_outputs))
    # Sequential of stock layers: the pickled model needs no portal code to load.
    return nn.Sequential(*layers)


TEMPLATE = Template(
    name="mlp",
    help="Multi-layer perceptron with configurable hidden layers.",
    params=(
        ParamSpec(
            "hidden_layers",
            "int_list",
            [64, 32],
            1,
            4096,
            help="Width of each hidden layer, input side first (1 to 8 layers).",
        ),
        ParamSpec("activation", "choice", "relu", choices=ACTIVATIONS, help="Hidden activation."),
        ParamSpec("dropout", "float", 0.0, 0.0, 0.9, help="Dropout after each hidden layer."),
        ParamSpec("batch_norm", "bool", False, help="Batch normalisation after each hidden layer."),
    ),
    build=build,
)
