"""Pages of lineage: the graph and the impact analysis (the API lives in apps/lineage/api)."""

from django.urls import path

from apps.lineage import views

urlpatterns = [
    path("lineage/", views.lineage_page, name="lineage-page"),
    path("lineage/impact/", views.impact_page, name="lineage-impact"),
    path("lineage/impact/review/", views.impact_review, name="lineage-impact-review"),
]
