"""Pages of the inbox and of a project's webhooks."""

from django.urls import path

from apps.core.views import pages

urlpatterns = [
    path("inbox/", pages.section, {"name": "inbox"}, name="inbox"),
]
