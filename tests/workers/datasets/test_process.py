"""process_file: schema, profile and refusals, checked against numpy/pyarrow on the same data."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq
import pytest

from workers.datasets import DatasetError, Limits, detect_format, process_file

QUANTILES = {"p01": 0.01, "p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95,
             "p99": 0.99}  # fmt: skip
# Small blocks, so even test files stream through many of them.
SMALL = Limits(block_size=16 << 10, sample_size=100_000)


def write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def write_table(tmp_path: Path, table: pa.Table, name: str = "data.csv") -> Path:
    path = tmp_path / name
    pv.write_csv(table, path, write_options=pv.WriteOptions(quoting_style="needed"))
    return path


def numbers_table(n: int, seed: int = 7) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """A float column with ~5% missing values and an integer column, plus the present values."""
    rng = np.random.default_rng(seed)
    floats = np.round(rng.normal(50, 12, n), 6)
    missing = rng.random(n) < 0.05
    ints = rng.integers(-1000, 1000, n)
    table = pa.table({"x": pa.array(floats, mask=missing), "k": ints})
    return table, {"x": floats[~missing], "k": ints}


# -- types and nullability -------------------------------------------------------------------


def test_each_logical_type_and_nullable(tmp_path):
    path = write(
        tmp_path,
        "i,f,b,s,ts,d,holes\n"
        "1,1.5,true,red,2024-01-02 03:04:05,2024-01-02,7\n"
        "2,2.5,false,blue,2024-02-03 04:05:06,2024-02-03,\n"
        "3,-0.5,true,red,2024-03-04 05:06:07,2024-03-04,9\n",
    )
    result = process_file(path, [])
    assert result["format"] == "csv"
    assert (result["row_count"], result["column_count"]) == (3, 7)
    assert [(c["name"], c["type"], c["nullable"]) for c in result["schema"]] == [
        ("i", "integer", False),
        ("f", "float", False),
        ("b", "boolean", False),
        ("s", "string", False),
        ("ts", "datetime", False),
        ("d", "datetime", False),
        ("holes", "integer", True),
    ]
    profile = result["profile"]
    assert profile["holes"]["count"] == 2 and profile["holes"]["missing"] == 1
    assert profile["holes"]["missing_fraction"] == pytest.approx(1 / 3)
    assert profile["ts"]["min"] == "2024-01-02T03:04:05"
    assert profile["ts"]["max"] == "2024-03-04T05:06:07"
    assert profile["d"]["min"] == "2024-01-02" and profile["d"]["max"] == "2024-03-04"
    assert profile["b"]["true_count"] == 2 and profile["b"]["false_count"] == 1
    assert profile["s"]["top"] == [{"value": "red", "count": 2}, {"value": "blue", "count": 1}]
    json.dumps(result, allow_nan=False)


def test_empty_text_cells_are_missing_in_string_columns(tmp_path):
    path = write(tmp_path, "name,n\nann,1\n,2\nbob,3\n")
    result = process_file(path, [])
    assert result["schema"][0] == {"name": "name", "type": "string", "nullable": True}
    assert result["profile"]["name"]["missing"] == 1
    assert result["profile"]["name"]["distinct"] == 2


# -- numbers ---------------------------------------------------------------------------------


def assert_moments(stats: dict, values: np.ndarray) -> None:
    assert stats["count"] == len(values)
    assert stats["min"] == values.min() and stats["max"] == values.max()
    assert stats["mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert stats["std"] == pytest.approx(values.std(ddof=1), rel=1e-9)


def test_numbers_are_exact_when_the_column_fits_the_sample(tmp_path):
    table, present = numbers_table(20_000)
    path = write_table(tmp_path, table)
    assert path.stat().st_size > 10 * SMALL.block_size  # many blocks

    profile = process_file(path, [], limits=SMALL)["profile"]

    for name, values in present.items():
        stats = profile[name]
        assert_moments(stats, values)
        assert "approx" not in stats
        expected = np.quantile(values, list(QUANTILES.values()))
        assert list(stats["quantiles"]) == list(QUANTILES)
        assert list(stats["quantiles"].values()) == pytest.approx(expected, rel=1e-12)
        counts, edges = np.histogram(values, bins=20, range=(values.min(), values.max()))
        assert stats["histogram"]["counts"] == counts.tolist()
        assert stats["histogram"]["edges"] == pytest.approx(edges.tolist())
    assert profile["x"]["missing"] == table.column("x").null_count
    assert isinstance(profile["k"]["min"], int)


def test_numbers_are_sampled_when_the_column_is_bigger_than_the_sample(tmp_path):
    table, present = numbers_table(60_000, seed=11)
    path = write_table(tmp_path, table)
    limits = Limits(block_size=64 << 10, sample_size=5_000)

    profile = process_file(path, [], limits=limits)["profile"]

    for name, values in present.items():
        stats = profile[name]
        assert stats["approx"] is True
        assert_moments(stats, values)  # moments never come from the sample
        ordered = np.sort(values)
        for key, q in QUANTILES.items():
            # Judge a sampled quantile by its rank in the full column: a uniform sample of n
            # values puts it within a few sqrt(q (1 - q) / n) of q.
            rank = np.searchsorted(ordered, stats["quantiles"][key]) / len(ordered)
            assert rank == pytest.approx(q, abs=5 * np.sqrt(q * (1 - q) / 5_000)), key
        counts = np.array(stats["histogram"]["counts"])
        assert counts.sum() == len(values)  # scaled to the full column
        exact, _ = np.histogram(values, bins=20, range=(values.min(), values.max()))
        assert np.abs(counts - exact).sum() / len(values) < 0.06


def test_std_merges_stably_across_blocks(tmp_path):
    # Large offset, tiny spread: a running sum of squares would lose every digit of the variance.
    values = 1e9 + np.random.default_rng(3).normal(0, 1e-3, 30_000)
    path = write(tmp_path, "v\n" + "\n".join(map(repr, values.tolist())) + "\n")
    stats = process_file(path, [], limits=SMALL)["profile"]["v"]
    assert stats["mean"] == pytest.approx(values.mean(), rel=1e-15)
    assert stats["std"] == pytest.approx(values.std(ddof=1), rel=1e-6)


def test_infinities_and_nan_are_json_safe(tmp_path):
    path = write(tmp_path, "v\n1.5\ninf\n-inf\nNaN\n2.5\n")
    result = process_file(path, [])
    stats = result["profile"]["v"]
    assert stats["missing"] == 1  # NaN counts as missing, as in pandas
    assert stats["infinite"] == 2
    assert (stats["min"], stats["max"], stats["mean"]) == (1.5, 2.5, 2.0)
    json.dumps(result, allow_nan=False)


def test_distinct_is_exact_up_to_the_cap_then_a_lower_bound(tmp_path):
    rng = np.random.default_rng(5)
    few = rng.integers(0, 30, 5_000)
    many = rng.permutation(5_000)
    path = write_table(tmp_path, pa.table({"few": few, "many": many}))
    profile = process_file(path, [], limits=Limits(block_size=8 << 10, max_tracked_categories=500))
    few_stats, many_stats = profile["profile"]["few"], profile["profile"]["many"]
    assert few_stats["distinct"] == len(np.unique(few))
    assert "distinct_approx" not in few_stats
    assert many_stats["distinct_approx"] is True
    assert 500 < many_stats["distinct"] <= 5_000


# -- categories --------------------------------------------------------------------------------


def test_top_values_match_counter(tmp_path):
    rng = np.random.default_rng(9)
    values = [f"level_{i}" for i in rng.zipf(1.6, 8_000) % 40]
    values[::97] = [None] * len(values[::97])
    # A second column: a one-column CSV writes a missing value as a blank line, which readers
    # (pyarrow and pandas alike) skip.
    path = write_table(tmp_path, pa.table({"c": values, "n": range(8_000)}))

    stats = process_file(path, [], limits=SMALL)["profile"]["c"]

    counts = Counter(v for v in values if v is not None)
    expected = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]
    assert stats["top"] == [{"value": v, "count": n} for v, n in expected]
    assert stats["distinct"] == len(counts)
    assert stats["missing"] == values.count(None)
    assert "high_cardinality" not in stats


def test_high_cardinality_strings_stop_tracking(tmp_path):
    values = [f"user-{i}" for i in range(3_000)]
    path = write_table(tmp_path, pa.table({"u": values}))
    stats = process_file(path, [], limits=Limits(block_size=8 << 10, max_tracked_categories=100))
    stats = stats["profile"]["u"]
    assert stats["high_cardinality"] is True
    assert stats["top"] is None
    assert stats["distinct_approx"] is True and 100 < stats["distinct"] <= 3_000
    assert stats["count"] == 3_000


def test_boolean_counts(tmp_path):
    flags = np.random.default_rng(2).random(4_000) < 0.3
    path = write_table(tmp_path, pa.table({"flag": flags}))
    stats = process_file(path, [], limits=SMALL)["profile"]["flag"]
    assert stats["true_count"] == int(flags.sum())
    assert stats["false_count"] == int((~flags).sum())
    assert stats["top"][0] == {"value": False, "count": int((~flags).sum())}
    assert stats["distinct"] == 2


# -- type changes while streaming ------------------------------------------------------------


def test_integer_column_becomes_float_when_a_later_block_has_decimals(tmp_path):
    ints = list(range(12_000))
    lines = [f"{v},{v % 3}" for v in ints] + ["2.5,1"] + [f"{v},{v % 3}" for v in ints[:100]]
    path = write(tmp_path, "a,b\n" + "\n".join(lines) + "\n")
    assert path.stat().st_size > 4 * SMALL.block_size  # the 2.5 is blocks after the first

    result = process_file(path, [], limits=SMALL)

    assert result["schema"][0]["type"] == "float"
    assert result["schema"][1]["type"] == "integer"
    values = np.array([*ints, 2.5, *ints[:100]])
    assert result["row_count"] == len(values)  # the restart did not count anything twice
    assert_moments(result["profile"]["a"], values)


def test_column_empty_in_the_first_block_takes_the_type_of_later_values(tmp_path):
    lines = ["x,"] * 3_000 + ["x,4", "x,5"]
    path = write(tmp_path, "s,late\n" + "\n".join(lines) + "\n")
    result = process_file(path, [], limits=SMALL)
    assert result["schema"][1] == {"name": "late", "type": "integer", "nullable": True}
    assert result["profile"]["late"]["count"] == 2 and result["profile"]["late"]["mean"] == 4.5


def test_dates_then_timestamps_become_timestamps(tmp_path):
    lines = ["2024-01-02"] * 3_000 + ["2024-01-03 10:30:00"]
    path = write(tmp_path, "when\n" + "\n".join(lines) + "\n")
    result = process_file(path, [], limits=SMALL)
    assert result["schema"][0]["type"] == "datetime"
    assert result["profile"]["when"]["max"] == "2024-01-03T10:30:00"


# -- refusals ----------------------------------------------------------------------------------


def png_bytes() -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def numbers_then_text() -> str:
    return "n,s\n" + "".join(f"{i},x\n" for i in range(3_000)) + "abc,x\n"


REFUSALS = [
    ("empty", b"", Limits(), ["empty", "0 bytes"]),
    ("header only", "a,b,c\n", Limits(), ["header", "no data rows"]),
    ("png renamed .csv", png_bytes(), Limits(), ["PNG image", "not a CSV"]),
    ("ragged row", "a,b,c\n1,2,3\n4,5,6\n7,8\n", Limits(), ["Row 3 has 2 fields", "header has 3"]),
    ("duplicate header", "a,b,a\n1,2,3\n", Limits(), ["unique", "'a'", "columns 1, 3"]),
    ("empty header", "a,,c\n1,2,3\n", Limits(), ["Column 2", "empty name"]),
    ("latin-1", "name,city\nJosé,Zürich\n".encode("latin-1"), Limits(), ["not UTF-8", "line 2"]),
    (
        "too many columns",
        ",".join(f"c{i}" for i in range(11)) + "\n" + ",".join("1" * 11) + "\n",
        Limits(max_columns=10),
        ["11 columns", "at most 10"],
    ),
    (
        "numbers then text",
        numbers_then_text(),
        Limits(block_size=4 << 10),
        ["'n'", "changes type", "integer", "'abc'", "after data row"],
    ),
    ("blank lines only", "\n\n\n", Limits(), ["no header"]),
]


@pytest.mark.parametrize(
    ("content", "limits", "fragments"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_bad_files_are_refused_with_a_clear_message(tmp_path, content, limits, fragments):
    path = write(tmp_path, content)
    with pytest.raises(DatasetError) as caught:
        process_file(path, [], limits=limits)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert not message.startswith(("CSV parse error", "In CSV column", "ArrowInvalid"))


def test_ragged_row_far_into_the_file_is_located(tmp_path):
    # Parallel parsing does not number rows; the message must still say which one.
    path = write(tmp_path, "a,b,c\n" + "1,2,3\n" * 20_000 + "4,5\n" + "1,2,3\n" * 10)
    with pytest.raises(DatasetError, match=r"Row 20001 has 2 fields; the header has 3"):
        process_file(path, [], limits=SMALL)


def test_non_utf8_bytes_after_the_first_64_kib_are_refused(tmp_path):
    head = "name,n\n" + "".join(f"row{i},{i}\n" for i in range(20_000))
    path = write(tmp_path, head.encode() + "café,1\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="not UTF-8"):
        process_file(path, [], limits=SMALL)


def test_corrupt_parquet_is_refused(tmp_path):
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"a": list(range(1000))}), good)
    data = bytearray(good.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # garbage in the middle
    truncated = data[: len(data) - 40]  # and the footer cut off
    path = write(tmp_path, bytes(truncated), "bad.parquet")
    assert detect_format(path) == "parquet"
    with pytest.raises(DatasetError, match=r"Parquet file is corrupt"):
        process_file(path, [])


def test_declared_format_must_match_the_content(tmp_path):
    path = write(tmp_path, "a\n1\n")
    with pytest.raises(DatasetError, match="declared as parquet"):
        process_file(path, [], fmt="parquet")


def test_detect_format(tmp_path):
    assert detect_format(write(tmp_path, "a,b\n1,2\n")) == "csv"
    parquet = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1]}), parquet)
    assert detect_format(parquet) == "parquet"
    with pytest.raises(DatasetError, match="empty"):
        detect_format(write(tmp_path, b""))
    with pytest.raises(DatasetError, match="binary data"):
        detect_format(write(tmp_path, b"a,b\n1,\x00\n"))


# -- parquet -----------------------------------------------------------------------------------


def test_parquet_gives_the_same_schema_and_profile_as_csv(tmp_path):
    rng = np.random.default_rng(4)
    n = 6_000
    missing = rng.random(n) < 0.1
    no_region = ~missing & (rng.random(n) < 0.05)
    levels = np.array(["north", "south", "east", "west"])
    table = pa.table(
        {
            "id": np.arange(n),
            "price": pa.array(np.round(rng.normal(100, 15, n), 4), mask=missing),
            "region": pa.array(levels[rng.integers(0, 4, n)], mask=no_region),
            "active": rng.random(n) < 0.5,
            "seen": pa.array(1_700_000_000 + rng.integers(0, 10**6, n), pa.int64()).cast(
                pa.timestamp("s")
            ),
        }
    )
    csv_path = write_table(tmp_path, table)
    parquet_path = tmp_path / "data.parquet"
    # Stored differently on purpose: dictionary-encoded text, several row groups.
    stored = table.set_column(2, "region", table.column("region").dictionary_encode())
    pq.write_table(stored, parquet_path, row_group_size=1_000)

    from_csv = process_file(csv_path, [], limits=SMALL)
    from_parquet = process_file(parquet_path, [], limits=SMALL)

    assert from_parquet["format"] == "parquet"
    assert from_parquet["schema"] == from_csv["schema"]
    assert from_parquet["row_count"] == from_csv["row_count"] == n
    assert_close(from_parquet["profile"], from_csv["profile"])


def assert_close(actual, expected, where: str = "profile") -> None:
    """Equal structures, floats equal up to rounding."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), where
        for key in expected:
            assert_close(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9), where
    else:
        assert actual == expected, where


# -- memory bound ------------------------------------------------------------------------------


def test_csv_reader_stays_two_blocks_ahead_of_the_consumer(tmp_path):
    """pyarrow would read up to 32 blocks ahead (the whole file, for most uploads); PacedFile
    holds it to two without stalling it (a stall would wait out the patience)."""
    from workers.datasets.paced import PacedFile

    path = write(tmp_path, "a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(20_000)))
    paced = PacedFile(path, ahead=2, patience=30)
    reader = pv.open_csv(paced, read_options=pv.ReadOptions(block_size=4 << 10))
    batches = 0
    started = time.monotonic()
    for batch in reader:
        batches += 1
        time.sleep(0.001)  # give a runaway reader the chance to run ahead
        assert paced._reads <= batches + 2
        assert batch.num_rows
        paced.batch_consumed()
    paced.close()
    assert batches > 20
    assert time.monotonic() - started < 10
