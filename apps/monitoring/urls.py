"""Pages of monitoring."""

from django.urls import path

from apps.monitoring.views import alerts, pages
from apps.monitoring.views import retrain as retrain_pages

urlpatterns = [
    path("alerts/", alerts.alert_list, name="alerts"),
    path("alerts/<int:pk>/acknowledge/", alerts.alert_acknowledge_view, name="alert-acknowledge"),
    path("monitoring/", pages.monitoring_index, name="monitoring"),
    path(
        "monitoring/reports/<int:pk>/report.html",
        pages.monitoring_report_html,
        name="monitoring-report-html",
    ),
    path(
        "monitoring/reports/<int:pk>/performance.html",
        pages.monitoring_performance_html,
        name="monitoring-performance-html",
    ),
    path("monitoring/<slug:slug>/", pages.monitoring_deployment, name="monitoring-deployment"),
    path("monitoring/<slug:slug>/run/", pages.monitoring_run, name="monitoring-run"),
    path("models/<int:pk>/retraining/", retrain_pages.retraining, name="model-retraining"),
    path(
        "models/<int:pk>/retraining/trigger/",
        retrain_pages.retraining_trigger,
        name="model-retraining-trigger",
    ),
    path(
        "models/<int:pk>/retraining/delete/",
        retrain_pages.retraining_delete,
        name="model-retraining-delete",
    ),
]
