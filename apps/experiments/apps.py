from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "apps.experiments"
    label = "experiments"
    verbose_name = "Experiments and training"

    def ready(self) -> None:
        from apps.experiments import jobs  # noqa: F401  (registers the training job kind)
