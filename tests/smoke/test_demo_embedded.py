"""`make demo` on the embedded default: SQLite, a folder broker, its own worker, no servers."""

from __future__ import annotations

import re
import sqlite3

from tests.smoke.test_embedded_default import _env, _free_port, _manage


def test_the_demo_closes_the_loop_on_sqlite_and_prints_each_step(tmp_path):
    var_dir = tmp_path / "var"
    env = {**_env(var_dir, _free_port()), "WORKER_CONCURRENCY": "2"}
    _manage(env, "portal_setup")
    out = _manage(env, "demo", "--rows", "800", "--window", "250", "--timeout", "240")

    steps = re.findall(r"^\[(\d)\] ", out, flags=re.MULTILINE)
    assert steps == [str(n) for n in range(1, 10)], out
    assert "dataset drift False" in out and "dataset drift True" in out, out
    assert re.search(r"promotion request #\d+ to staging is pending", out), out
    assert "/monitoring/churn-loop-1-production/" in out and "/alerts/" in out
    with sqlite3.connect(var_dir / "portal.sqlite3") as db:
        alerts = db.execute("select status from monitoring_alert").fetchall()
        runs = db.execute("select status, trigger from monitoring_retrainrun").fetchall()
        pending = db.execute(
            "select count(*) from registry_promotionrequest where status = 'pending'"
        ).fetchone()
    assert alerts == [("open",)]
    assert runs == [("requested", "drift_alert")]
    assert pending == (1,)
    assert (var_dir / "demo-worker.log").stat().st_size > 0

    # The pages over what the loop made answer on SQLite too (no PostgreSQL-only SQL).
    script = (
        "from django.test import Client\n"
        "from django.contrib.auth import get_user_model\n"
        "web = Client()\n"
        "web.force_login(get_user_model().objects.get(username='admin'))\n"
        "for path in ('/', '/monitoring/', '/monitoring/churn-loop-1-production/', '/alerts/',\n"
        "             '/costs/', '/lineage/?node=deployment:1&direction=both',\n"
        "             '/api/v1/lineage/?node=dataset_version:1&direction=downstream',\n"
        "             '/api/v1/costs/', '/metrics'):\n"
        "    print(path, web.get(path, REMOTE_ADDR='127.0.0.1').status_code)\n"
    )
    pages = _manage(env, "shell", "-c", script)
    assert pages.count(" 200") == 9, pages
