from rest_framework.routers import DefaultRouter

from apps.notifications.api import views

router = DefaultRouter()
router.include_root_view = False
router.register("webhooks", views.WebhookViewSet, basename="webhook")
router.register("webhook-deliveries", views.WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("inbox", views.InboxViewSet, basename="inbox-item")

urlpatterns = router.urls
