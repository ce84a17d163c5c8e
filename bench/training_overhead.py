"""Training overhead: the portal's worker code against a bare PyTorch loop, side by side.

    .venv/bin/python bench/training_overhead.py [--seconds 30] [--rows 100000] [--repeat 3]
                                                [--threads N] [--epochs N]

Generates a deterministic CSV (numbers, categories, a boolean, some missing values, a learnable
binary target), picks the epoch count so that the bare loop runs for at least --seconds on this
machine, then runs each contender in its own fresh subprocess, alternating, --repeat times:

- bare:   the training split and validation split preprocessed by the portal's own code (not
          timed), then, timed: seed, build the same mlp template module, Adam, and for each
          epoch one shuffled pass of mini-batches plus one validation-loss pass (the pass early
          stopping needs). No logging, no callbacks, no metrics.
- portal: workers.training.train() on the CSV, timed whole: reading and preprocessing the file,
          the same training (early stopping off, so the same epochs), per-epoch task metrics,
          MLflow run/params/tags/per-epoch metrics in a SQLite store, progress callbacks (each
          epoch appends to a list and rewrites a small JSON file, standing in for the portal's
          database progress update), a cancellation flag polled at every batch, then the pyfunc
          model logged and registered.

Both run the same seed, so they compute the same weights: the final validation losses are
printed side by side as a check. Times are wall-clock seconds of one job in a warm process: a
Celery worker pays its imports and one-off initialisation once, not per job, so each child first
warms up (the bare side takes one optimiser step on a tiny model, which loads torch's optimiser
machinery; the portal side runs a one-epoch job on a 300-row file, which also loads MLflow's SQL
store and its installed-packages map) and only then starts the clock. The MLflow store is created
before the runs start, as a portal's store exists before its first job. Floor: portal / bare <=
1.05 on the wall-time medians. Exits non-zero when it does not hold.

Each child also reports its CPU seconds, and the portal its phases. On a shared machine two torch
threads on two cores lose whole time slices whenever anything else runs, so wall times can swing
by tens of percent between identical runs; the load average and CPU pressure are printed, and
two diagnostics less sensitive to that (the CPU-seconds ratio, and wall time with each epoch
capped at 1.5x its run's median) are printed next to the floor, never instead of it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = 1.05
TARGET = "label"
PARAMS = {
    "hidden_layers": [128, 64],
    "activation": "relu",
    "dropout": 0.0,
    "batch_norm": False,
    "batch_size": 256,
    "learning_rate": 1e-3,
    "optimizer": "adam",
    "weight_decay": 0.0,
    "validation_fraction": 0.2,
    "seed": 7,
    "early_stopping_patience": 0,  # off: both sides run every epoch
    "device": "cpu",
}


# -- data ------------------------------------------------------------------------------------


def generate(path: Path, rows: int, seed: int = 20240601) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pv

    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {}
    signal = np.zeros(rows)
    for i in range(12):
        values = rng.normal(i, 1 + i / 4, rows)
        signal += np.sin(values * (i % 3 + 1)) * (1 if i % 2 else -1) / (1 + i / 6)
        missing = rng.random(rows) < 0.02 * (i % 3)  # 0, 2 or 4 % missing
        columns[f"num_{i}"] = pa.array(np.round(values, 4), mask=missing)
    for i, levels in enumerate((5, 12, 30, 8)):
        codes = rng.integers(0, levels, rows)
        signal += np.where(codes % 3 == 0, 0.8, -0.3) * (1 if i % 2 else -1)
        names = np.array([f"c{i}_{j}" for j in range(levels)])
        columns[f"cat_{i}"] = pa.array(names[codes], mask=rng.random(rows) < 0.01)
    flag = rng.random(rows) < 0.4
    signal += np.where(flag, 0.5, -0.5)
    columns["flag"] = pa.array(flag)
    noisy = signal + rng.normal(0, 1.0, rows)
    columns[TARGET] = pa.array(np.where(noisy > np.median(noisy), "yes", "no"))
    pv.write_csv(pa.table(columns), path)


# -- children -----------------------------------------------------------------------------------


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _set_threads(threads: int) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _params(epochs: int) -> dict:
    return {**PARAMS, "epochs": epochs}


def child_bare(path: Path, epochs: int, threads: int) -> dict:
    sys.path.insert(0, str(ROOT))
    _set_threads(threads)
    import torch
    import torch.nn.functional as F

    from workers.training import templates
    from workers.training.data import load_dataset, split_indices
    from workers.training.preprocess import Preprocessor

    params = _params(epochs)
    # The same tensors the portal trains on, built before the clock starts.
    data = load_dataset(path, "csv", TARGET, "classification", lambda line: None)
    train_rows, val_rows = split_indices(
        data.y, data.classes, params["validation_fraction"], params["seed"]
    )
    pre = Preprocessor(data.numeric, data.categorical).fit(data.features.iloc[train_rows])
    x = torch.from_numpy(pre.transform(data.features.iloc[train_rows]))
    y = torch.from_numpy(data.y[train_rows])
    x_val = torch.from_numpy(pre.transform(data.features.iloc[val_rows]))
    y_val = torch.from_numpy(data.y[val_rows])
    n, batch = x.shape[0], params["batch_size"]
    _warm_up_bare(templates, params)

    started, cpu_started = time.perf_counter(), _cpu_seconds()
    torch.manual_seed(params["seed"])
    model = templates.get("mlp").build(x.shape[1], len(data.classes), params)
    optimizer = torch.optim.Adam(model.parameters(), lr=params["learning_rate"])
    generator = torch.Generator().manual_seed(params["seed"])
    validation_seconds, epoch_seconds, val_loss = 0.0, [], math.nan
    for _ in range(epochs):
        epoch_started = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch):
            rows = order[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[rows]), y[rows])
            loss.backward()
            optimizer.step()
        validation_started = time.perf_counter()
        model.eval()
        with torch.inference_mode():
            val_loss = float(F.cross_entropy(model(x_val), y_val))
        now = time.perf_counter()
        validation_seconds += now - validation_started
        epoch_seconds.append(now - epoch_started)
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": _cpu_seconds() - cpu_started,
        "validation_seconds": validation_seconds,
        "epoch_seconds": epoch_seconds,
        "final_val_loss": val_loss,
        "train_rows": n,
        "features": x.shape[1],
    }


def _warm_up_bare(templates, params: dict) -> None:
    import torch
    import torch.nn.functional as F

    model = templates.get("mlp").build(4, 2, params)
    optimizer = torch.optim.Adam(model.parameters(), lr=params["learning_rate"])
    F.cross_entropy(model(torch.randn(8, 4)), torch.zeros(8, dtype=torch.long)).backward()
    optimizer.step()


def _spec(path: Path, epochs: int, store: Path, name: str):
    from workers.training import TrainSpec

    return TrainSpec(
        data_path=path,
        data_format="csv",
        target=TARGET,
        task="classification",
        template="mlp",
        params=_params(epochs),
        experiment=name,
        model_name=name,
        tracking_uri=f"sqlite:///{store / 'mlflow.db'}",
        artifact_root=str(store / "artifacts"),
        tags={"portal.job_id": "bench"},
    )


def child_portal(path: Path, epochs: int, store: Path, threads: int) -> dict:
    sys.path.insert(0, str(ROOT))
    _set_threads(threads)
    import threading

    import numpy as np

    from workers.training import Callbacks, train

    train(_spec(store / "warmup.csv", 1, store, "training-overhead-warmup"))

    progress_file = store / "progress.json"
    progress: list[dict] = []
    cancel = threading.Event()
    marks: dict[str, float] = {}
    epoch_ends: list[float] = []

    def on_epoch(epoch: int, total: int, metrics: dict[str, float]) -> None:
        progress.append({"epoch": epoch, **metrics})
        progress_file.write_text(json.dumps({"progress": epoch / total, "last": progress[-1]}))
        marks["last_epoch"] = time.perf_counter()
        epoch_ends.append(marks["last_epoch"])

    def log(line: str) -> None:
        if line.startswith("data:"):
            marks["data"] = time.perf_counter()

    spec = _spec(path, epochs, store, "training-overhead")
    callbacks = Callbacks(
        on_epoch=on_epoch,
        should_stop=cancel.is_set,
        log=log,
        on_run_started=lambda run_id: marks.setdefault("run", time.perf_counter()),
    )
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    result = train(spec, callbacks)
    ended = time.perf_counter()
    return {
        "seconds": ended - started,
        "cpu_seconds": _cpu_seconds() - cpu_started,
        "phases": {
            "run setup": marks["run"] - started,
            "load + preprocess": marks["data"] - marks["run"],
            "training loop": marks["last_epoch"] - marks["data"],
            "model logging + registration": ended - marks["last_epoch"],
        },
        # Data mark to the first epoch's end also covers moving the tensors and building the
        # model and optimiser; the bare side starts its first epoch after those.
        "epoch_seconds": list(np.diff([marks["data"], *epoch_ends])),
        "final_val_loss": result.history[-1]["val_loss"],
        "epochs_run": result.epochs_run,
        "status": result.status,
        "resources": result.resources,
    }


def child_store(store: Path) -> dict:
    """Creates the MLflow store (schema migrations) and the experiment before any timed run."""
    sys.path.insert(0, str(ROOT))
    from workers.training import tracking

    client = tracking.client_for(f"sqlite:///{store / 'mlflow.db'}")
    tracking.ensure_experiment(client, "training-overhead", str(store / "artifacts"))
    return {}


def steady_seconds(run: dict) -> float:
    """The run's wall time with each epoch capped at 1.5x the run's median epoch: what it would
    have taken without the moments when another process took the CPU (two torch threads on two
    cores slow down many times over then), keeping every cost that recurs, such as the
    portal's periodic MLflow requests."""
    epochs = run["epoch_seconds"]
    cap = 1.5 * statistics.median(epochs)
    return run["seconds"] - sum(epochs) + sum(min(seconds, cap) for seconds in epochs)


def cpu_pressure() -> str:
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return "n/a"
    fields = dict(part.split("=") for part in line.split()[1:])
    return f"{fields.get('avg60', '?')}%"


def run_child(which: str, path: Path, epochs: int, store: Path, threads: int = 0) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            which,
            "--path",
            str(path),
            "--epochs",
            str(epochs),
            "--store",
            str(store),
            "--threads",
            str(threads),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=store,  # anything MLflow might write relative to the working directory stays here
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="minimum bare-loop time")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (median is kept)")
    parser.add_argument("--epochs", type=int, help="skip calibration and train this many epochs")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads on both sides (default: torch's own choice, one per core)",
    )
    parser.add_argument("--child", choices=["bare", "portal", "store"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "bare":
        print(json.dumps(child_bare(args.path, args.epochs, args.threads)))
        return 0
    if args.child == "portal":
        print(json.dumps(child_portal(args.path, args.epochs, args.store, args.threads)))
        return 0
    if args.child == "store":
        print(json.dumps(child_store(args.store)))
        return 0

    with tempfile.TemporaryDirectory(prefix="training-overhead-") as tmp:
        store = Path(tmp)
        path = store / "data.csv"
        started = time.perf_counter()
        generate(path, args.rows)
        generate(store / "warmup.csv", 300)
        print(
            f"data: {args.rows:,} rows x 18 columns, {path.stat().st_size / 1e6:.1f} MB CSV "
            f"(generated in {time.perf_counter() - started:.1f} s)"
        )
        run_child("store", path, 1, store)
        epochs = args.epochs
        if epochs is None:
            probe = run_child("bare", path, 3, store, args.threads)
            per_epoch = min(probe["epoch_seconds"])
            epochs = max(2, math.ceil(args.seconds / per_epoch))
            print(f"calibration: {per_epoch:.2f} s per bare epoch -> {epochs} epochs")
        hidden = "x".join(map(str, PARAMS["hidden_layers"]))
        print(
            f"model: mlp {hidden}, batch {PARAMS['batch_size']}, adam, {epochs} epochs, "
            f"seed {PARAMS['seed']}, CPU; {args.repeat} alternating runs each, medians reported"
        )
        runs: dict[str, list[dict]] = {"bare": [], "portal": []}
        load_before, pressure_before = os.getloadavg()[0], cpu_pressure()
        for _ in range(args.repeat):
            for name in runs:  # alternate, so a noisy moment hits both sides
                runs[name].append(run_child(name, path, epochs, store, args.threads))
        load_after, pressure_after = os.getloadavg()[0], cpu_pressure()

    bare, portal = runs["bare"], runs["portal"]
    bare_s = statistics.median(r["seconds"] for r in bare)
    portal_s = statistics.median(r["seconds"] for r in portal)
    long_enough = "yes" if bare_s >= args.seconds else "NO, raise --seconds or --rows"
    print(f"{'':8} {'wall s':>8} {'cpu s':>8}   each run: wall s (cpu s)")
    for name, rs in (("bare", bare), ("portal", portal)):
        wall = statistics.median(r["seconds"] for r in rs)
        cpu = statistics.median(r["cpu_seconds"] for r in rs)
        each = " ".join(f"{r['seconds']:.2f} ({r['cpu_seconds']:.1f})" for r in rs)
        print(f"{name:8} {wall:8.2f} {cpu:8.1f}   {each}")
    print(f"bare median >= {args.seconds:g} s: {long_enough}")
    bare_validation = statistics.median(r["validation_seconds"] for r in bare)
    print(
        f"bare: {bare[0]['train_rows']:,} training rows x {bare[0]['features']} features; "
        f"its per-epoch validation-loss passes take {bare_validation:.2f} s of its time"
    )
    print("portal phases (median s):")
    for phase in portal[0]["phases"]:
        print(f"  {phase:30} {statistics.median(r['phases'][phase] for r in portal):7.2f}")
    resources = portal[len(portal) // 2]["resources"]
    print(
        "portal resources (one run): "
        + ", ".join(f"{k}={v}" for k, v in resources.items() if v is not None)
    )
    print(
        f"final val_loss: bare {bare[0]['final_val_loss']:.6f}, "
        f"portal {portal[0]['final_val_loss']:.6f} (same seed, same work)"
    )
    print(
        f"machine: 1-minute load average {load_before:.2f} before the runs, {load_after:.2f} "
        f"after; CPU pressure (share of time something waited for a CPU, last 60 s) "
        f"{pressure_before} before, {pressure_after} after"
    )
    ratio = portal_s / bare_s
    ok = ratio <= FLOOR
    print(f"ratio portal/bare = {ratio:.3f}  (wall medians; floor <= {FLOOR}: ", end="")
    print("holds)" if ok else "FAILS)")
    # Diagnostics, not the floor. With two torch threads on two cores, any other load makes the
    # threads wait for each other and wall times swing by tens of percent from run to run; CPU
    # seconds and the capped-epoch estimate show what the code itself costs.
    bare_cpu = statistics.median(r["cpu_seconds"] for r in bare)
    portal_cpu = statistics.median(r["cpu_seconds"] for r in portal)
    bare_steady = statistics.median(steady_seconds(r) for r in bare)
    portal_steady = statistics.median(steady_seconds(r) for r in portal)
    print("diagnostics:")
    print(f"  cpu-seconds ratio portal/bare                      {portal_cpu / bare_cpu:.3f}")
    print(
        f"  wall with epochs capped at 1.5x their run's median {portal_steady / bare_steady:.3f}"
        f"  (bare {bare_steady:.2f} s, portal {portal_steady:.2f} s)"
    )
    print(
        f"  wall against the bare loop minus its validation    "
        f"{portal_s / (bare_s - bare_validation):.3f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
