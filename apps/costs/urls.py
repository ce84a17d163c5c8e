"""Pages of costs and budgets."""

from django.urls import path

from apps.costs.views import pages

urlpatterns = [
    path("costs/", pages.cost_index, name="costs"),
    path("costs/budget/", pages.budget_set_view, name="costs-budget"),
]
