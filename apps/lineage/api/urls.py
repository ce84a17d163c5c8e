from django.urls import path

from apps.lineage.api.views import LineageView

urlpatterns = [path("lineage/", LineageView.as_view(), name="lineage")]
