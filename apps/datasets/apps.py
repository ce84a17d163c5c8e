from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "apps.datasets"
    label = "datasets"
    verbose_name = "Datasets"

    def ready(self) -> None:
        from apps.datasets import jobs  # noqa: F401  (registers the processing job kind)
