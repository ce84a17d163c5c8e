"""load_window against the real PostgreSQL test database, through Django's psycopg connection."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from django.db import connection
from django.utils import timezone

from apps.deployments.models import PredictionLog
from tests.deployments.conftest import deployment_factory  # noqa: F401
from tests.registry.conftest import model_version_factory  # noqa: F401
from workers.drift.window import load_window, window_query

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
    deployment, _token = deployment_factory()
    return deployment


@pytest.fixture
def another(deployment_factory, model_version_factory):  # noqa: F811
    """A second deployment, of another model (one staging version per model)."""

    def make(slug: str):
        stable = model_version_factory(name=f"{slug}-model", stage="staging")
        return deployment_factory(stable=stable, slug=slug)[0]

    return make


def log(deployment, minutes_ago: float, inputs: dict, **fields) -> PredictionLog:
    revision = deployment.current_revision
    fields.setdefault("output", "yes")
    return PredictionLog(
        deployment=deployment, revision_id=revision.pk, model_version_id=revision.stable_id,
        request_id=f"r{minutes_ago}", inputs=inputs, latency_ms=1.0,
        created_at=timezone.now() - timedelta(minutes=minutes_ago), **fields,
    )  # fmt: skip


@pytest.fixture
def logged(deployment):
    """Ten served rows a minute apart (0 = newest), a shadow copy and an error."""
    rows = [
        log(deployment, minutes, {"x1": float(minutes), "x2": minutes, "colour": "red"},
            label="yes" if minutes % 2 else None)
        for minutes in range(10)
    ]  # fmt: skip
    rows.append(log(deployment, 0.5, {"x1": 99.0, "x2": 99, "colour": "shadow"}, shadow=True))
    rows.append(log(deployment, 0.5, {"x1": 98.0, "x2": 98, "colour": "err"}, error="boom"))
    PredictionLog.objects.bulk_create(rows)
    return deployment


def test_the_window_is_typed_and_newest_first(conn, logged):
    frame = load_window(conn, deployment_id=logged.pk)

    assert list(frame.columns) == ["x1", "x2", "colour", "prediction", "label"]
    assert frame["x1"].tolist() == [float(m) for m in range(10)]
    assert pd.api.types.is_float_dtype(frame["x1"])
    assert pd.api.types.is_integer_dtype(frame["x2"])
    assert set(frame["colour"]) == {"red"}  # no shadow copy, no error row
    assert set(frame["prediction"]) == {"yes"}
    # Labels come through where feedback gave one; null elsewhere.
    assert frame["label"].tolist() == [None, "yes"] * 5


def test_since_and_last_n(conn, logged):
    since = load_window(
        conn, deployment_id=logged.pk, since=timezone.now() - timedelta(minutes=3.5)
    )
    assert since["x1"].tolist() == [0.0, 1.0, 2.0, 3.0]

    last = load_window(conn, deployment_id=logged.pk, last_n=3)
    assert last["x1"].tolist() == [0.0, 1.0, 2.0]

    both = load_window(
        conn, deployment_id=logged.pk, since=timezone.now() - timedelta(minutes=1.5), last_n=5
    )
    assert both["x1"].tolist() == [0.0, 1.0]


def test_requested_columns_only(conn, logged):
    frame = load_window(conn, deployment_id=logged.pk, columns=["x2", "missing"], last_n=2)

    assert list(frame.columns) == ["x2", "missing", "prediction", "label"]
    assert frame["x2"].tolist() == [0, 1]
    assert frame["missing"].isna().all()


def test_an_empty_window(conn, logged, another):
    other = another("empty")

    frame = load_window(conn, deployment_id=other.pk, columns=["x1", "colour"])
    assert frame.empty
    assert list(frame.columns) == ["x1", "colour", "prediction", "label"]

    future = load_window(conn, deployment_id=logged.pk, since=timezone.now() + timedelta(hours=1))
    assert future.empty


def test_other_deployments_are_not_read(conn, logged, another):
    other = another("other")
    PredictionLog.objects.bulk_create([log(other, 0, {"x1": -1.0, "x2": -1, "colour": "blue"})])

    assert load_window(conn, deployment_id=other.pk)["x1"].tolist() == [-1.0]
    assert len(load_window(conn, deployment_id=logged.pk)) == 10


NOTE = 'back\\slash "quoted"\nline\t\x01 ünï'


def test_json_escapes_survive_the_copy(conn, deployment):
    PredictionLog.objects.bulk_create([
        log(deployment, 0, {"note": NOTE, "n": 1}), log(deployment, 1, {"note": "plain", "n": 2}),
    ])  # fmt: skip

    frame = load_window(conn, deployment_id=deployment.pk)

    assert frame["note"].tolist() == [NOTE, "plain"]
    assert pd.api.types.is_integer_dtype(frame["n"])


def test_mixed_types_fall_back_to_objects(conn, deployment):
    # pyarrow wants one type per column; free-form clients may not send one.
    PredictionLog.objects.bulk_create([
        log(deployment, 0, {"note": NOTE, "n": 1}, output=0.25),
        log(deployment, 1, {"note": "plain", "n": "two"}, output={"p": [0.1, 0.9]}),
        log(deployment, 2, {"note": "x", "n": 3, "num": 2.5}, output=1),
    ])  # fmt: skip

    frame = load_window(conn, deployment_id=deployment.pk)

    assert set(frame.columns) == {"note", "n", "num", "prediction", "label"}
    assert frame["note"].tolist() == [NOTE, "plain", "x"]
    assert frame["n"].tolist() == [1, "two", 3]
    assert frame["prediction"].tolist() == [0.25, {"p": [0.1, 0.9]}, 1]
    assert pd.api.types.is_float_dtype(frame["num"])


def test_values_are_literals_not_sql(conn, deployment):
    query = window_query(deployment_id=deployment.pk, columns=["x'); DROP TABLE x; --"]).as_string(
        conn
    )

    assert "'x''); DROP TABLE x; --'" in query
    assert load_window(conn, deployment_id=deployment.pk, columns=["x'); DROP TABLE x; --"]).empty
    with pytest.raises(ValueError, match="timezone-aware"):
        window_query(deployment_id=1, since=timezone.now().replace(tzinfo=None))
