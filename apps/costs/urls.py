"""Pages of costs and budgets."""

urlpatterns: list = []
