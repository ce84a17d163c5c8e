from django.apps import AppConfig


class CostsConfig(AppConfig):
    name = "apps.costs"
    label = "costs"
    verbose_name = "Costs and budgets"

    def ready(self) -> None:
        # Prices finished training jobs and checks the project's budget when one ends.
        from apps.costs import hooks  # noqa: F401
