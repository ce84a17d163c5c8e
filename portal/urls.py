from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("apps.core.api.urls")),
    path("api/v1/", include("apps.datasets.api.urls")),
    path("api/v1/", include("apps.experiments.api.urls")),
    path("api/v1/", include("apps.registry.api.urls")),
    path("api/v1/", include("apps.notifications.api.urls")),
    path("api/v1/", include("apps.deployments.api.urls")),
    path("api/v1/", include("apps.monitoring.api.urls")),
    path("api/v1/", include("apps.costs.api.urls")),
    path("api/v1/", include("apps.lineage.api.urls")),
    path("serve/", include("apps.deployments.serving.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("apps.datasets.urls")),
    path("", include("apps.experiments.urls")),
    path("", include("apps.registry.urls_models")),
    path("", include("apps.registry.urls_promotions")),
    path("", include("apps.notifications.urls")),
    path("", include("apps.deployments.urls")),
    path("", include("apps.monitoring.urls")),
    path("", include("apps.costs.urls")),
    path("", include("apps.lineage.urls")),
    path("", include("apps.core.urls")),
]

handler404 = "apps.core.api.exceptions.json_not_found"
handler500 = "apps.core.api.exceptions.json_server_error"
