"""Pages of promotion requests and the review queue."""

from django.urls import path

from apps.core.views import pages

urlpatterns = [
    path("reviews/", pages.section, {"name": "reviews"}, name="reviews"),
]
