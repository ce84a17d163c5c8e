from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "apps.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring and continuous training"

    def ready(self) -> None:
        # Registers the drift job kind and the hooks on training and dataset jobs.
        from apps.monitoring import hooks, jobs  # noqa: F401
