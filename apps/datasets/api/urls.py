from rest_framework.routers import DefaultRouter

from apps.datasets.api import views

router = DefaultRouter()
router.include_root_view = False
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("dataset-versions", views.DatasetVersionViewSet, basename="dataset-version")
router.register("validation-rules", views.ValidationRuleViewSet, basename="validation-rule")

urlpatterns = router.urls
