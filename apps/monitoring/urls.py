"""Pages of monitoring."""

from django.urls import path

from apps.core.views import pages

urlpatterns = [
    path("monitoring/", pages.section, {"name": "monitoring"}, name="monitoring"),
]
