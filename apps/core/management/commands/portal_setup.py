from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from apps.core.mlflow_store import ensure_store


class Command(BaseCommand):
    help = "Prepare a portal: folders, migrations, static files, MLflow store, demo data."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo seed.")

    def handle(self, *args, **options) -> None:
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database: migrated")
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write("static files: collected")
        ensure_store()
        self.stdout.write(f"mlflow store: {settings.MLFLOW_TRACKING_URI}")
        if not options["no_demo"]:
            call_command("seed_demo")
