"""Pages of deployments."""

from django.urls import path

from apps.deployments.views import actions, pages

urlpatterns = [
    path("deployments/", pages.deployment_index, name="deployments"),
    path("deployments/<slug:slug>/", pages.deployment_detail, name="deployment"),
    path(
        "deployments/<slug:slug>/traffic.json",
        pages.deployment_traffic_json,
        name="deployment-traffic",
    ),
    path(
        "deployments/<slug:slug>/rollback/",
        actions.deployment_rollback_view,
        name="deployment-rollback",
    ),
    path(
        "deployments/<slug:slug>/canary/", actions.deployment_canary_view, name="deployment-canary"
    ),
    path("deployments/<slug:slug>/token/", actions.deployment_token_view, name="deployment-token"),
]
