"""Template registry, parameter schemas and validation: plain data, no torch."""

from __future__ import annotations

import json
import math
import sys

import pytest

from workers.training import ParamSpec, param_schema, template_names, validate_params
from workers.training.params import COMMON_PARAMS

COMMON = [spec.name for spec in COMMON_PARAMS]


def test_templates_are_discovered():
    assert template_names() == ["linear", "mlp"]


def test_schema_is_json_with_common_then_template_params():
    schema = param_schema("mlp")
    assert json.loads(json.dumps(schema)) == schema
    assert list(schema)[: len(COMMON)] == COMMON
    assert {"hidden_layers", "activation", "dropout", "batch_norm"} <= set(schema)
    for entry in schema.values():
        assert set(entry) == {"type", "default", "min", "max", "choices", "help"}
        assert entry["help"]
    assert schema["optimizer"]["choices"] == ["adam", "sgd", "adamw"]
    assert schema["device"] == {
        "type": "choice",
        "default": "auto",
        "min": None,
        "max": None,
        "choices": ["auto", "cpu", "cuda"],
        "help": schema["device"]["help"],
    }
    assert schema["hidden_layers"]["type"] == "int_list"
    assert list(param_schema("linear")) == COMMON


def test_schema_defaults_are_copies():
    param_schema("mlp")["hidden_layers"]["default"].append(999)
    cleaned, _ = validate_params("mlp", {})
    cleaned["hidden_layers"].append(7)
    assert param_schema("mlp")["hidden_layers"]["default"] == [64, 32]
    assert validate_params("mlp", {})[0]["hidden_layers"] == [64, 32]


def test_param_spec_is_public():
    spec = ParamSpec("x", "int", 1, 0, 2, help="h")
    assert spec.as_dict() == {
        "type": "int",
        "default": 1,
        "min": 0,
        "max": 2,
        "choices": None,
        "help": "h",
    }


def test_defaults_fill_in():
    cleaned, errors = validate_params("mlp", {"epochs": 3, "learning_rate": 1})
    assert errors == {}
    assert cleaned["epochs"] == 3
    assert cleaned["learning_rate"] == 1.0 and isinstance(cleaned["learning_rate"], float)
    assert cleaned["hidden_layers"] == [64, 32]
    assert set(cleaned) == set(param_schema("mlp"))


def test_valid_values_of_every_type():
    cleaned, errors = validate_params(
        "mlp",
        {
            "hidden_layers": [8],
            "batch_norm": True,
            "activation": "gelu",
            "dropout": 0.5,
            "optimizer": "adamw",
            "device": "cpu",
            "seed": 0,
            "early_stopping_patience": 0,
        },
    )
    assert errors == {}
    assert cleaned["hidden_layers"] == [8] and cleaned["batch_norm"] is True


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"epochs": True}, "epochs", "integer"),  # bool is not int
        ({"epochs": "3"}, "epochs", "integer"),  # "3" is not int
        ({"epochs": 3.0}, "epochs", "integer"),
        ({"epochs": None}, "epochs", "integer"),
        ({"epochs": 0}, "epochs", "at least 1"),
        ({"epochs": 10_001}, "epochs", "at most 10000"),
        ({"learning_rate": "0.1"}, "learning_rate", "number"),
        ({"learning_rate": False}, "learning_rate", "number"),
        ({"learning_rate": math.nan}, "learning_rate", "finite"),
        ({"learning_rate": math.inf}, "learning_rate", "finite"),
        ({"learning_rate": 0}, "learning_rate", "at least"),
        ({"validation_fraction": 0.9}, "validation_fraction", "at most 0.5"),
        ({"optimizer": "rmsprop"}, "optimizer", "one of adam, sgd, adamw"),
        ({"optimizer": 1}, "optimizer", "one of"),
        ({"device": "tpu"}, "device", "one of auto, cpu, cuda"),
        ({"batch_norm": 1}, "batch_norm", "true or false"),
        ({"batch_norm": "yes"}, "batch_norm", "true or false"),
        ({"hidden_layers": 64}, "hidden_layers", "list of integers"),
        ({"hidden_layers": [64, "32"]}, "hidden_layers", "list of integers"),
        ({"hidden_layers": [True]}, "hidden_layers", "list of integers"),
        ({"hidden_layers": []}, "hidden_layers", "between 1 and 8"),
        ({"hidden_layers": [4] * 9}, "hidden_layers", "between 1 and 8"),
        ({"hidden_layers": [64, 0]}, "hidden_layers", "Item 2: Must be at least 1"),
        ({"hidden_layers": [5000]}, "hidden_layers", "Item 1: Must be at most 4096"),
        ({"dropout": 1.0}, "dropout", "at most 0.9"),
        ({"hidden": [3]}, "hidden", "Unknown parameter"),
    ],
)
def test_each_kind_of_error_names_its_field(params, field, fragment):
    cleaned, errors = validate_params("mlp", params)
    assert list(errors) == [field]
    assert any(fragment in message for message in errors[field]), errors
    assert set(cleaned) == set(param_schema("mlp"))  # still filled with defaults


def test_template_params_are_unknown_to_other_templates():
    _, errors = validate_params("linear", {"hidden_layers": [4], "dropout": 0.1})
    assert set(errors) == {"hidden_layers", "dropout"}


def test_several_errors_at_once():
    _, errors = validate_params("mlp", {"epochs": -1, "seed": "x", "nope": 1})
    assert set(errors) == {"epochs", "seed", "nope"}


def test_unknown_template():
    cleaned, errors = validate_params("resnet", {"epochs": 3})
    assert cleaned == {}
    assert "linear, mlp" in errors["template"][0]
    with pytest.raises(KeyError):
        param_schema("resnet")


def test_params_must_be_a_dict():
    _, errors = validate_params("mlp", ["epochs"])
    assert list(errors) == ["params"]


def test_schemas_do_not_import_torch_or_mlflow():
    # The web process builds forms from these; importing torch there would cost seconds.
    import subprocess

    code = (
        "import sys, workers.training as t; t.param_schema('mlp'); t.validate_params('mlp', {});"
        "print('torch' in sys.modules, 'mlflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
