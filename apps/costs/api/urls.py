from django.urls import path
from rest_framework.routers import DefaultRouter

from apps.costs.api.views import BudgetViewSet, CostReportView

router = DefaultRouter()
router.include_root_view = False
router.register("budgets", BudgetViewSet, basename="budget")

urlpatterns = [
    path("costs/", CostReportView.as_view(), name="cost-report"),
    *router.urls,
]
