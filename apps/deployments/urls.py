"""Pages of deployments."""

from django.urls import path

from apps.core.views import pages

urlpatterns = [
    path("deployments/", pages.section, {"name": "deployments"}, name="deployments"),
]
