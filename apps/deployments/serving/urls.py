"""The data plane: `/serve/<slug>/predict`."""

from django.urls import path

from apps.deployments.serving import views

urlpatterns = [
    path("<slug:slug>/predict", views.predict, name="serve-predict"),
]
