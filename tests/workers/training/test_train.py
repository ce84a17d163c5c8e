"""train() end to end: real PyTorch training, a real MLflow SQLite store and registry, and the
logged model loaded back the way any MLflow client would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch

from tests.workers.training import make_frame, write_csv
from workers.training import Callbacks, TrainingError, TrainSpec, train
from workers.training.data import split_indices

TARGETS = ("label", "value", "grade")
EXPERIMENT = "Training Tests"


@dataclass
class Store:
    root: Path
    uri: str
    artifact_root: Path
    files: dict[str, Path] = field(default_factory=dict)

    def client(self) -> mlflow.MlflowClient:
        return mlflow.MlflowClient(self.uri, registry_uri=self.uri)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    root = tmp_path_factory.mktemp("training")
    store = Store(root, f"sqlite:///{root}/mlflow.db", root / "artifacts")
    frame = make_frame()
    for target in TARGETS:
        others = [t for t in TARGETS if t != target]
        store.files[target] = write_csv(frame.drop(columns=others), root / f"{target}.csv")
    return store


def spec(store: Store, target: str = "label", **changes) -> TrainSpec:
    params = {"epochs": 15, "learning_rate": 0.01, "batch_size": 32, "device": "cpu"}
    params.update(changes.pop("params", {}))
    values = {
        "data_path": store.files.get(target, store.files["label"]),
        "data_format": "csv",
        "target": target,
        "task": "regression" if target == "value" else "classification",
        "template": "mlp",
        "params": params,
        "experiment": EXPERIMENT,
        "model_name": "churn",
        "tracking_uri": store.uri,
        "artifact_root": str(store.artifact_root),
        "tags": {"portal.job_id": "41", "portal.project": "alpha"},
    }
    values.update(changes)
    return TrainSpec(**values)


@dataclass
class Recorder:
    epochs: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    runs: list = field(default_factory=list)

    def callbacks(self, **changes) -> Callbacks:
        values = {
            "on_epoch": lambda *args: self.epochs.append(args),
            "log": self.lines.append,
            "on_run_started": self.runs.append,
        }
        values.update(changes)
        return Callbacks(**values)


@pytest.fixture(scope="module")
def mlp_run(store):
    recorder = Recorder()
    the_spec = spec(
        store,
        params={"hidden_layers": [16, 8]},
        tags={
            "portal.job_id": "41",
            "portal.project": "alpha",
            "portal.dataset_version_id": "7",
            "portal.dataset_hash": "ab" * 32,
        },
        run_name="job-41",
    )
    return train(the_spec, recorder.callbacks()), recorder


@pytest.fixture
def load(tmp_path_factory):
    """mlflow.pyfunc.load_model, downloading into pytest's temporary folders (left to itself,
    MLflow copies the artifacts into a new folder under /tmp on every load)."""

    def load(uri: str):
        return mlflow.pyfunc.load_model(uri, dst_path=str(tmp_path_factory.mktemp("model")))

    return load


@pytest.fixture
def tracking_env(store, monkeypatch):
    """What a separate MLflow client has: the store's URI in its environment."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)


# -- a classification job, tracked ----------------------------------------------------------


def test_classification_job_learns_and_reports(mlp_run):
    result, recorder = mlp_run
    assert result.status == "finished" and result.device == "cpu"
    assert result.metrics["accuracy"] > 0.8  # classes are close to balanced
    assert result.metrics["roc_auc"] > 0.85
    assert result.metrics["f1"] > 0.7
    assert result.metrics["log_loss"] == pytest.approx(result.metrics["val_loss"], rel=1e-5)
    assert result.epochs_run == len(result.history) <= 15
    assert [entry["epoch"] for entry in result.history] == list(range(1, result.epochs_run + 1))
    assert set(result.history[0]) == {
        "epoch", "train_loss", "val_loss", "accuracy", "f1", "roc_auc", "log_loss",
    }  # fmt: skip
    best = min(result.history, key=lambda entry: entry["val_loss"])
    assert result.metrics["val_loss"] == best["val_loss"]

    assert [(epoch, total) for epoch, total, _ in recorder.epochs] == [
        (e, 15) for e in range(1, result.epochs_run + 1)
    ]
    assert recorder.epochs[0][2] == {k: v for k, v in result.history[0].items() if k != "epoch"}
    assert recorder.runs == [result.mlflow_run_id]
    assert any(line.startswith("epoch 1/15 train_loss=") for line in recorder.lines)
    assert any("when (datetime)" in line for line in recorder.lines)

    assert result.resources["device"] == "cpu"
    assert result.resources["wall_seconds"] > 0 and result.resources["cpu_seconds"] > 0
    assert result.resources["peak_rss_mb"] > 50
    assert result.resources["gpu_seconds"] is None and result.resources["peak_gpu_mem_mb"] is None
    assert result.signature == {
        "inputs": [
            {"name": "x1", "type": "double"},
            {"name": "x2", "type": "double"},
            {"name": "count", "type": "double"},
            {"name": "color", "type": "string"},
            {"name": "flag", "type": "boolean"},
        ],
        "target": "label",
        "task": "classification",
        "classes": ["no", "yes"],
    }
    json.dumps(result.signature)


def test_the_run_holds_params_tags_and_one_metric_point_per_epoch(mlp_run, store):
    result, _ = mlp_run
    client = store.client()
    run = client.get_run(result.mlflow_run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "job-41"
    tags = run.data.tags
    for key, value in {
        "portal.job_id": "41",
        "portal.project": "alpha",
        "portal.dataset_version_id": "7",
        "portal.dataset_hash": "ab" * 32,
        "portal.template": "mlp",
        "portal.device": "cpu",
        "portal.versions.torch": torch.__version__,
        "portal.versions.mlflow": mlflow.__version__,
        "portal.versions.numpy": np.__version__,
        "portal.versions.pandas": pd.__version__,
    }.items():
        assert tags[key] == value, key
    assert tags["portal.code_version"] == _git_head()
    params = run.data.params
    assert params["epochs"] == "15" and params["hidden_layers"] == "[16, 8]"
    assert params["optimizer"] == "adam" and params["target"] == "label"
    assert int(params["n_train_rows"]) + int(params["n_val_rows"]) == 400

    for key in ("train_loss", "val_loss", "val_accuracy", "val_f1", "val_roc_auc"):
        history = client.get_metric_history(result.mlflow_run_id, key)
        assert [point.step for point in history] == list(range(1, result.epochs_run + 1)), key
    losses = [p.value for p in client.get_metric_history(result.mlflow_run_id, "val_loss")]
    assert losses == pytest.approx([entry["val_loss"] for entry in result.history])
    metrics = run.data.metrics
    for key in ("accuracy", "f1", "roc_auc", "log_loss"):
        assert metrics[key] == pytest.approx(result.metrics[key])
    assert metrics["best_val_loss"] == pytest.approx(result.metrics["val_loss"])
    assert metrics["epochs_run"] == result.epochs_run
    assert metrics["resources/wall_seconds"] > 0

    experiment = client.get_experiment(run.info.experiment_id)
    expected = (store.artifact_root / "mlflow" / "training-tests").resolve().as_uri()
    assert experiment.name == EXPERIMENT and experiment.artifact_location == expected

    assert result.model_uri == f"runs:/{result.mlflow_run_id}/model"
    assert result.registered_model_name == "churn"
    version = client.get_model_version("churn", result.registered_model_version)
    assert version.run_id == result.mlflow_run_id and version.status == "READY"
    assert version.tags["portal.job_id"] == "41"


def test_registered_model_loads_anywhere_and_predicts_raw_columns(
    mlp_run, store, tracking_env, load, tmp_path, monkeypatch
):
    result, _ = mlp_run
    monkeypatch.chdir(tmp_path)  # artifact locations are absolute: the cwd does not matter
    raw = pd.read_csv(store.files["label"])
    truth = raw.pop("label")
    raw.loc[0, "color"] = "purple"  # never seen in training
    raw.loc[1, "x1"] = np.nan
    raw.loc[2, "color"] = None
    raw["count"] = raw["count"].astype("float64")
    raw.loc[3, "count"] = np.nan  # a gap in an integer column
    raw["flag"] = raw["flag"].astype(object)
    raw.loc[4, "flag"] = None

    model = load(f"models:/churn/{result.registered_model_version}")
    predicted = model.predict(raw)  # "when", a column the model does not use, is ignored
    assert len(predicted) == len(raw)
    assert set(predicted) <= {"yes", "no"}
    assert (np.asarray(predicted) == truth.to_numpy()).mean() > 0.8

    by_run = load(result.model_uri).predict(raw.head(10))
    assert list(by_run) == list(predicted[:10])
    schema = model.metadata.get_input_schema()
    assert schema.input_names() == ["x1", "x2", "count", "color", "flag"]
    assert not list(tmp_path.iterdir())  # nothing written to the working directory


def test_the_model_loads_without_the_portal_installed(mlp_run, store, tracking_env, load, tmp_path):
    result, _ = mlp_run
    # A fresh interpreter that cannot import the portal (its editable-install finder removed,
    # nothing of it on sys.path): the model brings its own copy of workers/training.
    code = f"""
import importlib.util, json, sys
sys.meta_path = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path = [p for p in sys.path if p not in ("", {str(Path.cwd())!r})]
assert importlib.util.find_spec("workers") is None, "the portal is importable"
import mlflow, pandas as pd
model = mlflow.pyfunc.load_model(
    "models:/churn/{result.registered_model_version}", dst_path={str(tmp_path)!r}
)
frame = pd.read_csv({str(store.files["label"])!r}).drop(columns=["label"]).head(8)
print(json.dumps(list(model.predict(frame))))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MLFLOW_TRACKING_URI"] = store.uri
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    frame = pd.read_csv(store.files["label"]).drop(columns=["label"]).head(8)
    expected = load(result.model_uri).predict(frame)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == list(expected)


def test_preprocessing_is_fitted_on_the_training_split(store, tracking_env, load):
    frame = make_frame(200, seed=5).drop(columns=["value", "grade"])
    codes = (frame["label"] == "yes").to_numpy().astype(np.int64)
    train_rows, val_rows = split_indices(codes, ["no", "yes"], 0.2, seed=3)
    frame.loc[val_rows[:3], "color"] = "teal"  # a category that only validation rows have
    path = write_csv(frame, store.root / "teal.csv")
    result = train(spec(store, data_path=path, template="linear", params={"epochs": 2, "seed": 3}))
    model = load(result.model_uri).unwrap_python_model()
    pre = model.preprocessor
    color = pre.categorical.index("color")
    assert "teal" not in pre.categories[color]
    assert set(pre.categories[color]) <= {"red", "green", "blue", "__missing__"}
    x2 = pre.numeric.index("x2")
    assert pre.means[x2] == pytest.approx(frame["x2"].iloc[train_rows].mean())
    assert pre.means[x2] != pytest.approx(frame["x2"].mean())
    teal = frame.iloc[val_rows[:1]].drop(columns=["label"])
    encoded = pre.transform(teal)[0]
    assert encoded[len(pre.numeric) : len(pre.numeric) + len(pre.categories[0])].sum() == 0


# -- each template, each task -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "target", "params", "check"),
    [
        ("linear", "label", {}, lambda m: m["accuracy"] > 0.8 and m["roc_auc"] > 0.85),
        ("linear", "value", {"epochs": 30}, lambda m: m["r2"] > 0.8),
        (
            "mlp",
            "value",
            {"epochs": 30, "hidden_layers": [32], "activation": "tanh"},
            lambda m: m["r2"] > 0.8,
        ),
        (
            "mlp",
            "grade",  # three integer classes
            {"epochs": 30, "batch_norm": True, "dropout": 0.1, "optimizer": "adamw"},
            lambda m: m["accuracy"] > 0.7,
        ),
        ("mlp", "label", {"optimizer": "sgd", "weight_decay": 1e-4}, lambda m: m["accuracy"] > 0.8),
    ],
)
def test_templates_train_for_each_task(store, tracking_env, load, template, target, params, check):
    result = train(
        spec(store, target, template=template, params=params, model_name=f"{template}-{target}")
    )
    assert result.status == "finished"
    assert check(result.metrics), result.metrics
    expected = {"label": {"accuracy", "f1", "roc_auc", "log_loss"}, "value": {"rmse", "mae", "r2"}}
    keys = expected.get(target, {"accuracy", "f1", "roc_auc", "log_loss"})
    assert set(result.metrics) == keys | {"val_loss"}
    raw = pd.read_csv(store.files[target]).drop(columns=[target]).head(5)
    predicted = load(result.model_uri).predict(raw)
    if target == "value":
        assert predicted.dtype == np.float64
        assert result.metrics["rmse"] < pd.read_csv(store.files[target])["value"].std() / 2
    elif target == "grade":
        assert result.signature["classes"] == [0, 1, 2]
        assert predicted.dtype == np.int64 and set(predicted) <= {0, 1, 2}


# -- reproducibility, early stopping, cancellation, failure --------------------------------------


def test_same_seed_same_metrics_and_another_seed_differs(store):
    def run(seed: int):
        params = {"epochs": 4, "seed": seed, "hidden_layers": [8], "dropout": 0.2}
        return train(spec(store, params=params, model_name="seeded"))

    first, again, other = run(1), run(1), run(2)
    assert first.metrics == again.metrics
    assert first.history == again.history
    assert other.metrics != first.metrics


def test_early_stopping_ends_a_plateau_and_keeps_the_best_epoch(store):
    params = {"epochs": 40, "learning_rate": 1e-7, "early_stopping_patience": 2}
    result = train(spec(store, template="linear", params=params, model_name="plateau"))
    assert result.status == "finished"
    assert result.epochs_run == 3 < 40  # epoch 1 is the best; two more without progress
    assert result.metrics["val_loss"] == result.history[0]["val_loss"]
    run = store.client().get_run(result.mlflow_run_id)
    assert run.data.metrics["best_epoch"] == 1 and run.data.metrics["epochs_run"] == 3


def test_cancel_stops_at_a_batch_boundary_and_kills_the_run(store):
    recorder = Recorder()
    stop = {"now": False}

    def on_epoch(epoch, total, metrics):
        recorder.epochs.append(epoch)
        stop["now"] = True  # as if the user pressed cancel during epoch 1

    callbacks = recorder.callbacks(on_epoch=on_epoch, should_stop=lambda: stop["now"])
    result = train(spec(store, model_name="cancelled-model"), callbacks)
    assert result.status == "cancelled"
    assert result.epochs_run == 1 and recorder.epochs == [1]
    assert result.model_uri is None
    assert result.registered_model_name is None and result.registered_model_version is None
    assert set(result.metrics) == {"accuracy", "f1", "roc_auc", "log_loss", "val_loss"}
    client = store.client()
    assert client.get_run(result.mlflow_run_id).info.status == "KILLED"
    assert client.search_registered_models("name = 'cancelled-model'") == []
    assert len(client.get_metric_history(result.mlflow_run_id, "val_loss")) == 1


def test_cancel_before_the_first_epoch_ends(store):
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3  # three batches, then cancel

    result = train(spec(store), Callbacks(should_stop=should_stop))
    assert result.status == "cancelled" and result.epochs_run == 0 and result.metrics == {}
    assert len(calls) == 4
    assert store.client().get_run(result.mlflow_run_id).info.status == "KILLED"


def test_an_error_fails_the_run_and_propagates(store):
    recorder = Recorder()

    def on_epoch(epoch, total, metrics):
        raise RuntimeError("progress update failed")

    with pytest.raises(RuntimeError, match="progress update failed"):
        train(spec(store), recorder.callbacks(on_epoch=on_epoch))
    [run_id] = recorder.runs
    client = store.client()
    assert client.get_run(run_id).info.status == "FAILED"
    assert len(client.get_metric_history(run_id, "train_loss")) == 1  # the finished epoch


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"target": "churned"}, "target column 'churned' is not in the dataset"),
        ({"task": "regression"}, "Regression needs a numeric target"),
        ({"params": {"epochs": "ten"}}, "epochs: Must be an integer"),
        ({"template": "resnet"}, "Unknown template 'resnet'"),
        ({"task": "ranking"}, "Unknown task"),
    ],
)
def test_refusals_are_training_errors(store, changes, fragment):
    recorder = Recorder()
    with pytest.raises(TrainingError, match=fragment):
        train(spec(store, **changes), recorder.callbacks())
    for run_id in recorder.runs:  # a refusal found after the run started fails the run
        assert store.client().get_run(run_id).info.status == "FAILED"


def test_too_few_rows(store):
    path = write_csv(make_frame(9).drop(columns=["value", "grade"]), store.root / "tiny.csv")
    with pytest.raises(TrainingError, match="at least 10 are needed"):
        train(spec(store, data_path=path))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this worker has CUDA")
def test_cuda_requested_without_cuda(store):
    recorder = Recorder()
    with pytest.raises(TrainingError, match="CUDA was requested but is not available"):
        train(spec(store, params={"device": "cuda"}), recorder.callbacks())
    assert recorder.runs == []  # refused before any MLflow run exists


def test_auto_device_uses_cpu_here(store):
    if torch.cuda.is_available():
        pytest.skip("this worker has CUDA")
    result = train(spec(store, template="linear", params={"epochs": 1, "device": "auto"}))
    assert result.device == "cpu" and result.resources["device"] == "cpu"


def test_a_job_leaves_the_process_as_it_found_it(store):
    from mlflow.tracking._tracking_service import utils

    torch.manual_seed(123)
    expected_random = torch.rand(1)
    torch.manual_seed(123)
    before = (
        utils._tracking_uri,
        os.environ.get("MLFLOW_TRACKING_URI"),
        list(sys.path),
        torch.are_deterministic_algorithms_enabled(),
    )
    train(spec(store, template="linear", params={"epochs": 1, "seed": 9}))
    after = (
        utils._tracking_uri,
        os.environ.get("MLFLOW_TRACKING_URI"),
        list(sys.path),
        torch.are_deterministic_algorithms_enabled(),
    )
    assert after == before
    assert torch.rand(1) == expected_random  # the job's seeding did not touch the global RNG


def _git_head() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() if out.returncode == 0 else "unknown"
