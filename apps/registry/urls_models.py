"""Pages of registered models and versions (list, detail, card, policy, compare)."""

from django.urls import path

from apps.core.views import pages

urlpatterns = [
    path("models/", pages.section, {"name": "models"}, name="models"),
]
