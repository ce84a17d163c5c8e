from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "healthz", timeout=0.5) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


class Command(BaseCommand):
    help = "Run the web server and a Celery worker (both queues, with beat) in the foreground."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args, **options) -> None:
        host, port = options["host"], options["port"]
        python = sys.executable
        web = [
            python, "-m", "gunicorn", "portal.wsgi:application",
            "-c", str(settings.BASE_DIR / "portal/gunicorn_conf.py"), "--bind", f"{host}:{port}",
            "--workers", os.environ.get("WEB_CONCURRENCY", "2"),
            "--threads", "4", "--access-logfile", "-", "--graceful-timeout", "10",
        ]  # fmt: skip
        worker = [
            python, "-m", "celery", "-A", "portal", "worker", "-Q", "default,gpu",
            "--beat", "--concurrency", os.environ.get("WORKER_CONCURRENCY", "2"),
            "--loglevel", settings.LOG_LEVEL.lower(),
            "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
        ]  # fmt: skip
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        # Own process groups: Ctrl-C reaches only this supervisor, which then stops each
        # child in order, so neither is left behind half-shut.
        procs = {
            name: subprocess.Popen(cmd, start_new_session=True)
            for name, cmd in (("web", web), ("worker", worker))
        }
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"  # noqa: S104
        self.stdout.write(f"starting web and worker for {url} ...")
        announced = False
        exit_code = 0
        started = time.monotonic()
        while not stopping:
            if not announced and _healthy(url):
                announced = True
                self.stdout.write(
                    self.style.SUCCESS(
                        f"\n  MLOps Portal is ready at {url}"
                        f"  (up in {time.monotonic() - started:.1f}s)\n"
                        f"  Sign in as {settings.DEMO_USERNAME} / {settings.DEMO_PASSWORD}\n"
                        f"  API docs: {url}api/docs/\n"
                        "  Press Ctrl-C to stop.\n"
                    )
                )
            for name, proc in procs.items():
                if proc.poll() is not None:
                    self.stderr.write(f"{name} exited with {proc.returncode}; stopping")
                    exit_code, stopping = 1, True
            time.sleep(0.3)
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.stdout.write("stopped web and worker")
        sys.exit(exit_code)
