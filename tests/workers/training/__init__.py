"""A small synthetic table shared by the training tests: numbers, categories, a boolean and a
date, with gaps, and targets that are learnable from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def make_frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, rows)
    x2 = rng.normal(5, 2, rows)
    count = rng.integers(0, 10, rows)
    color = rng.choice(["red", "green", "blue"], rows)
    flag = rng.random(rows) < 0.5
    logit = 2.5 * x1 + 2.0 * (color == "red") - 1.0 + 0.8 * flag
    frame = pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "count": count,
            "color": color,
            "flag": flag,
            "when": pd.date_range("2024-01-01", periods=rows, freq="h"),
            "label": np.where(logit + rng.normal(0, 0.3, rows) > 0, "yes", "no"),
            "value": 3 * x1 - 1.5 * (x2 - 5) + 2 * (color == "blue") + rng.normal(0, 0.3, rows),
            "grade": np.digitize(x1 + 0.5 * (x2 - 5), [-0.7, 0.7]),  # 0, 1, 2
        }
    )
    # Gaps after the targets are computed: the features keep their signal elsewhere.
    frame.loc[rng.random(rows) < 0.1, "x1"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "color"] = None
    return frame


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path
