"""Dataset ingest: the portal's streaming path against pandas, side by side.

    .venv/bin/python bench/dataset_ingest.py [--rows 1000000] [--cols 20] [--repeat 3]

Generates a deterministic CSV (integers, floats, 10-50-valued categories, a boolean, some
missing values), then runs each contender in its own fresh subprocess so each peak memory is
its own:

- portal:   sha256 in 1 MiB chunks + workers.datasets.process_file with a handful of rules
- baseline: pandas.read_csv + df.describe(include="all") + sha256 of the whole file read at once

Times are wall-clock seconds of the work after imports. Memory is the child's peak resident set
(VmHWM), shown next to its resident set right after imports. Each side runs --repeat times,
alternating, and the medians are compared. Floors: time ratio <= 1.0, memory ratio <= 0.5
(portal / baseline). Exits non-zero when a floor does not hold.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIME_FLOOR = 1.0
MEMORY_FLOOR = 0.5


# -- data ------------------------------------------------------------------------------------


def column_kinds(cols: int) -> list[tuple[str, str]]:
    """(name, kind) for `cols` columns: an id, a boolean, then ints, floats and categories."""
    kinds = [("id", "id"), ("flag", "bool")]
    cycle = ("int", "float", "cat")
    for i in range(max(0, cols - 2)):
        kind = cycle[i % 3]
        kinds.append((f"{kind}_{i // 3}", kind))
    return kinds[:cols]


def generate(path: Path, rows: int, cols: int, seed: int = 20240601) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pv

    rng = np.random.default_rng(seed)
    kinds = column_kinds(cols)
    ids = rng.permutation(rows) + 1
    options = pv.WriteOptions(quoting_style="needed")
    chunk = 100_000
    with pv.CSVWriter(path, _schema(kinds), write_options=options) as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            arrays = [
                _column(kind, i, n, rng, ids[start : start + n])
                for i, (_, kind) in enumerate(kinds)
            ]
            writer.write_batch(pa.record_batch(arrays, schema=_schema(kinds)))


def _schema(kinds: list[tuple[str, str]]):
    import pyarrow as pa

    types = {
        "id": pa.int64(),
        "bool": pa.bool_(),
        "int": pa.int64(),
        "float": pa.float64(),
        "cat": pa.string(),
    }
    return pa.schema([(name, types[kind]) for name, kind in kinds])


def _column(kind: str, index: int, n: int, rng, ids):
    import numpy as np
    import pyarrow as pa

    missing = rng.random(n) < (0.01 * (index % 4))  # 0-3 % missing, none in some columns
    if kind == "id":
        return pa.array(ids)
    if kind == "bool":
        return pa.array(rng.random(n) < 0.3, mask=missing)
    if kind == "int":
        return pa.array(rng.integers(0, 10 ** (2 + index % 5), n), mask=missing)
    if kind == "float":
        values = np.round(rng.normal(index, 1 + index, n), 4)
        return pa.array(values, mask=missing)
    levels = np.array([f"level_{index}_{j}" for j in range(10 + (index * 7) % 41)])
    return pa.array(levels[rng.integers(0, len(levels), n)], mask=missing)


def portal_rules(rows: int, cols: int) -> list[dict]:
    kinds = dict(column_kinds(cols))
    names = list(kinds)
    first = {kind: name for name, kind in reversed(list(kinds.items()))}
    rules = [
        {"kind": "required_columns", "column": None, "params": {"columns": names}},
        {"kind": "not_null", "column": "id", "params": {}},
        {"kind": "unique", "column": "id", "params": {}},
        {"kind": "row_count_range", "column": None, "params": {"min": 1, "max": 2 * rows}},
    ]
    if "int" in first:
        rules.append({"kind": "min", "column": first["int"], "params": {"value": 0}})
    if "float" in first:
        rules.append(
            {"kind": "max_missing_fraction", "column": first["float"], "params": {"value": 0.05}}
        )
    if "cat" in first:
        index = names.index(first["cat"])
        levels = [f"level_{index}_{j}" for j in range(10 + (index * 7) % 41)]
        rules.append(
            {"kind": "allowed_values", "column": first["cat"], "params": {"values": levels}}
        )
    return rules


# -- children -----------------------------------------------------------------------------------


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_portal(path: Path, rows: int, cols: int) -> dict:
    import hashlib

    sys.path.insert(0, str(ROOT))
    from workers.datasets import process_file

    after_imports = _rss_kib("VmRSS")
    started = time.perf_counter()
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    result = process_file(path, portal_rules(rows, cols))
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "baseline_kib": after_imports,
        "peak_kib": _rss_kib("VmHWM"),
        "rows": result["row_count"],
        "validation_passed": result["validation_passed"],
    }


def child_baseline(path: Path, rows: int, cols: int) -> dict:
    import hashlib

    import pandas

    after_imports = _rss_kib("VmRSS")
    started = time.perf_counter()
    df = pandas.read_csv(path)
    df.describe(include="all")
    with open(path, "rb") as f:
        hashlib.sha256(f.read()).hexdigest()
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "baseline_kib": after_imports,
        "peak_kib": _rss_kib("VmHWM"),
        "rows": len(df),
    }


def run_child(which: str, path: Path, rows: int, cols: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            which,
            "--path",
            str(path),
            "--rows",
            str(rows),
            "--cols",
            str(cols),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    out = dict(runs[0])
    for key in ("seconds", "peak_kib", "baseline_kib"):
        out[key] = statistics.median(run[key] for run in runs)
    return out


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (median is kept)")
    parser.add_argument("--child", choices=["portal", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child = child_portal if args.child == "portal" else child_baseline
        print(json.dumps(child(args.path, args.rows, args.cols)))
        return 0

    with tempfile.TemporaryDirectory(prefix="dataset-ingest-") as tmp:
        path = Path(tmp) / "data.csv"
        started = time.perf_counter()
        generate(path, args.rows, args.cols)
        size_mb = path.stat().st_size / 1e6
        print(
            f"data: {args.rows:,} rows x {args.cols} columns, {size_mb:.1f} MB CSV "
            f"(generated in {time.perf_counter() - started:.1f} s); "
            f"{args.repeat} alternating runs each, medians reported"
        )
        runs: dict[str, list[dict]] = {"portal": [], "baseline": []}
        for _ in range(args.repeat):
            for name in runs:  # alternate, so a noisy moment hits both sides
                runs[name].append(run_child(name, path, args.rows, args.cols))

    portal, baseline = (_median(runs[name]) for name in ("portal", "baseline"))
    print(f"{'':10} {'wall s':>8} {'peak RSS MB':>12} {'RSS after imports MB':>21}   runs (s)")
    for name, r in (("portal", portal), ("baseline", baseline)):
        each = " ".join(f"{run['seconds']:.2f}" for run in runs[name])
        print(
            f"{name:10} {r['seconds']:8.2f} {r['peak_kib'] / 1024:12.1f} "
            f"{r['baseline_kib'] / 1024:21.1f}   {each}"
        )
    time_ratio = portal["seconds"] / baseline["seconds"]
    memory_ratio = portal["peak_kib"] / baseline["peak_kib"]
    time_ok = time_ratio <= TIME_FLOOR
    memory_ok = memory_ratio <= MEMORY_FLOOR
    print(
        f"time ratio   portal/baseline = {time_ratio:.2f}  (floor <= {TIME_FLOOR}: "
        f"{'holds' if time_ok else 'FAILS'})"
    )
    print(
        f"memory ratio portal/baseline = {memory_ratio:.2f}  (floor <= {MEMORY_FLOOR}: "
        f"{'holds' if memory_ok else 'FAILS'})"
    )
    print(
        f"portal rows {portal['rows']:,}, validation passed: {portal['validation_passed']}; "
        f"baseline rows {baseline['rows']:,}"
    )
    return 0 if time_ok and memory_ok else 1


if __name__ == "__main__":
    sys.exit(main())
