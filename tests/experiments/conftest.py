from __future__ import annotations

import numpy as np
import pytest

from apps.datasets.models import DatasetVersion
from tests.datasets.conftest import process, upload


def make_csv(rows: int = 240, seed: int = 0) -> str:
    """A learnable table: the label follows x1 + x2 and the colour, with gaps in x2."""
    rng = np.random.default_rng(seed)
    lines = ["x1,x2,colour,label,amount"]
    for _ in range(rows):
        x1, x2 = rng.normal(), rng.normal()
        colour = rng.choice(["red", "green", "blue"])
        score = x1 + x2 + (1.0 if colour == "red" else 0.0)
        label = "yes" if score > 0.5 else "no"
        amount = 3 * x1 - x2 + rng.normal(scale=0.1)
        x2_text = "" if rng.random() < 0.05 else f"{x2:.4f}"
        lines.append(f"{x1:.4f},{x2_text},{colour},{label},{amount:.4f}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def ready_version(world, api, dataset) -> DatasetVersion:
    body = upload(api(world.users["carl"]), dataset.pk, make_csv()).json()
    version = process(body["id"])
    assert version.status == "ready", version.error
    return version
