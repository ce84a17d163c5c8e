from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.core.models import Project
from apps.core.services.projects import project_create

DEMO_PROJECT = "demo"


class Command(BaseCommand):
    help = "Create the demo admin and demo project. Safe to run again: nothing is made twice."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=settings.DEMO_USERNAME,
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"},
        )
        if created:
            user.set_password(settings.DEMO_PASSWORD)
            user.save(update_fields=["password"])
        self.stdout.write(f"demo admin '{user.username}': {'created' if created else 'exists'}")
        if Project.objects.filter(slug=DEMO_PROJECT).exists():
            self.stdout.write(f"demo project '{DEMO_PROJECT}': exists")
            return
        project_create(
            creator=user,
            slug=DEMO_PROJECT,
            name="Demo project",
            description="A sandbox to try the portal: upload data, train, promote, deploy.",
        )
        self.stdout.write(f"demo project '{DEMO_PROJECT}': created")
