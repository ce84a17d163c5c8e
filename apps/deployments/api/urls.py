from rest_framework.routers import DefaultRouter

from apps.deployments.api import feedback, views

router = DefaultRouter()
router.include_root_view = False
router.register("deployments", views.DeploymentViewSet, basename="deployment")

urlpatterns = router.urls + feedback.urlpatterns
