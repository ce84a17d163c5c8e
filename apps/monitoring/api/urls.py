from rest_framework.routers import DefaultRouter

from apps.monitoring.api import alerts, monitors, reports
from apps.monitoring.api import retrain as retrain_api

router = DefaultRouter()
router.include_root_view = False
router.register("monitors", monitors.MonitorViewSet, basename="monitor")
router.register("drift-reports", reports.DriftReportViewSet, basename="drift-report")
router.register("alert-rules", alerts.AlertRuleViewSet, basename="alert-rule")
router.register("alerts", alerts.AlertViewSet, basename="alert")
router.register("retrain-policies", retrain_api.RetrainPolicyViewSet, basename="retrain-policy")

urlpatterns = router.urls
