from rest_framework.routers import DefaultRouter

from apps.registry.api import promotions, views

router = DefaultRouter()
router.include_root_view = False
router.register("models", views.RegisteredModelViewSet, basename="registered-model")
router.register("model-versions", views.ModelVersionViewSet, basename="model-version")
router.register("promotions", promotions.PromotionViewSet, basename="promotion-request")

urlpatterns = router.urls
