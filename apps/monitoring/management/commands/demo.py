from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.monitoring.demo import DemoError, Say, run_loop


class Command(BaseCommand):
    help = (
        "Run the whole loop once, headless: data, training, promotion by two reviewers, "
        "deployment, predictions, shifted predictions, drift job, alert, retraining and the "
        "new promotion request. Prints each step with links to its page."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Use the Celery workers already running instead of starting one.",
        )
        parser.add_argument("--url", default=f"http://127.0.0.1:{settings.PORT}/")
        parser.add_argument("--rows", type=int, default=1500, help="Rows of the demo dataset.")
        parser.add_argument("--window", type=int, default=400, help="Predictions per window.")
        parser.add_argument("--timeout", type=float, default=600, help="Seconds per job.")

    def handle(self, *args, **options) -> None:
        # The serving view loads the model in this process: no download progress bars here.
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        worker = None if options["no_worker"] else self._start_worker()
        say = Say(line=self.stdout.write, base_url=options["url"])
        try:
            run_loop(say, rows=options["rows"], window=options["window"],
                     timeout=options["timeout"])  # fmt: skip
        except DemoError as error:
            raise CommandError(str(error)) from error
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
        self.stdout.write(
            f"\nSee it in the portal: `make run`, then sign in at {options['url']} as "
            f"{settings.DEMO_USERNAME} / {settings.DEMO_PASSWORD}."
        )

    def _start_worker(self) -> subprocess.Popen:
        log_path = settings.VAR_DIR / "demo-worker.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"starting a Celery worker for the demo's jobs (log: {log_path}) ...")
        command = [
            sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", "default,gpu",
            "--concurrency", os.environ.get("WORKER_CONCURRENCY", "2"), "--loglevel", "warning",
        ]  # fmt: skip
        # Its log goes to a file: the demo's own lines stay readable.
        with log_path.open("ab") as log:
            return subprocess.Popen(
                command, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
            )
