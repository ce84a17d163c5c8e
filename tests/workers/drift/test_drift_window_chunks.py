"""load_window's streamed parse: chunked, typed like one whole parse, projected or not."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from django.db import connection
from django.utils import timezone

from apps.deployments.models import PredictionLog
from tests.deployments.conftest import deployment_factory  # noqa: F401
from tests.registry.conftest import model_version_factory  # noqa: F401
from workers.drift import window
from workers.drift.window import load_window

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY needs PostgreSQL"),
]


@pytest.fixture
def conn():
    connection.ensure_connection()
    return connection.connection


@pytest.fixture
def deployment(deployment_factory):  # noqa: F811
    return deployment_factory()[0]


def write(deployment, inputs: list[dict], **fields) -> None:
    """Rows a second apart, the first one newest (so it comes first in the window)."""
    revision = deployment.current_revision
    now = timezone.now()
    PredictionLog.objects.bulk_create(
        PredictionLog(
            deployment=deployment, revision_id=revision.pk, model_version_id=revision.stable_id,
            request_id=f"r{i}", inputs=row, output=fields.get("output", "yes"), latency_ms=1.0,
            created_at=now - timedelta(seconds=i), label=fields.get("label"),
        )
        for i, row in enumerate(inputs)
    )  # fmt: skip


def whole_and_chunked(monkeypatch, conn, **kwargs) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The same window read as one chunk and as many small ones (many parses in flight), and
    how many times the chunked read fell back to parsing the window whole."""
    whole = load_window(conn, **kwargs)
    monkeypatch.setattr(window, "CHUNK_BYTES", 512)
    fallbacks = []
    read_whole = window._read_whole

    def counted(*args, **kw):
        fallbacks.append(1)
        return read_whole(*args, **kw)

    monkeypatch.setattr(window, "_read_whole", counted)
    return whole, load_window(conn, **kwargs), len(fallbacks)


def test_chunks_type_columns_like_one_parse(monkeypatch, conn, deployment):
    # The newest rows (first chunks) have whole numbers and lack a key that older rows have:
    # a chunk alone would call them int64 and null.
    rows = [{"n": i, "colour": "red"} for i in range(150)]
    rows += [{"n": i + 0.5, "colour": "blue", "late": f"v{i % 3}"} for i in range(150)]
    write(deployment, rows)

    whole, chunked, fallbacks = whole_and_chunked(monkeypatch, conn, deployment_id=deployment.pk)

    pd.testing.assert_frame_equal(chunked, whole)
    assert fallbacks == 0
    # Keys in order of first appearance, as one parse orders them.
    assert list(chunked.columns) == ["n", "colour", "late", "prediction", "label"]
    assert chunked["n"].dtype == "float64"
    assert chunked["n"].tolist()[:3] == [0.0, 1.0, 2.0]
    assert chunked["n"].tolist()[-1] == 149.5
    assert chunked["late"].tolist()[149:152] == [None, "v0", "v1"]


def test_chunks_that_disagree_fall_back_to_objects(monkeypatch, conn, deployment):
    # A number in the newest rows, a string in older ones: no common type, as in one parse.
    write(deployment, [{"n": i} for i in range(100)] + [{"n": f"s{i}"} for i in range(100)])

    whole, chunked, fallbacks = whole_and_chunked(monkeypatch, conn, deployment_id=deployment.pk)

    pd.testing.assert_frame_equal(chunked, whole)
    assert fallbacks == 1
    assert chunked["n"].tolist() == [*range(100), *(f"s{i}" for i in range(100))]


def test_requested_columns_agree_projected_or_not(monkeypatch, conn, deployment):
    keys = [f"k{i:02d}" for i in range(12)]
    write(deployment, [{k: i * 10 + j for j, k in enumerate(keys)} for i in range(50)])
    columns = ["k03", "absent"]

    # Two of twelve keys: the database builds the smaller objects.
    assert window._projection_pays(conn, deployment.pk, columns)
    projected = load_window(conn, deployment_id=deployment.pk, columns=columns)
    monkeypatch.setattr(window, "PROJECTION_SHARE", 0.0)
    assert not window._projection_pays(conn, deployment.pk, columns)
    full = load_window(conn, deployment_id=deployment.pk, columns=columns)

    pd.testing.assert_frame_equal(projected, full)
    assert list(full.columns) == ["k03", "absent", "prediction", "label"]
    assert full["k03"].tolist() == [i * 10 + 3 for i in range(50)]
    assert full["absent"].isna().all()


def test_the_frame_is_the_callers_to_change(conn, deployment):
    # Arrow can hand pandas read-only views of its buffers; a caller must be able to write.
    write(deployment, [{"x": float(i), "colour": "red"} for i in range(20)])

    frame = load_window(conn, deployment_id=deployment.pk, columns=["x", "colour"])
    frame.loc[0, "x"] = -1.0
    frame["x"] += 1

    assert frame["x"].tolist()[:2] == [0.0, 2.0]
