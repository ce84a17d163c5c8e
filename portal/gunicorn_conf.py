"""gunicorn settings for the portal (`gunicorn -c portal/gunicorn_conf.py portal.wsgi`)."""

from __future__ import annotations


def worker_exit(server, worker) -> None:
    # A worker stopping cleanly (SIGTERM, max-requests, reload) writes its buffered predictions
    # first; only a crash loses them (at most one flush interval's worth).
    from apps.deployments import predlog

    predlog.shutdown()
