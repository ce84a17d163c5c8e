from __future__ import annotations

from django.conf import settings
from django.db import models


class RetrainData(models.TextChoices):
    LATEST = "latest_dataset_version", "Latest valid version of the model's dataset"
    REFERENCE_PLUS_LABELLED = (
        "reference_plus_labelled",
        "Reference data plus recent labelled predictions",
    )


class RetrainPolicy(models.Model):
    """Continuous training of one registered model: which events retrain it, on what data, and
    how often at most. A retraining trains with the production version's template and
    parameters and, when it succeeds, opens a promotion request to staging; people approve it.
    The requests are made in the name of `created_by` (who therefore cannot approve them)."""

    project = models.ForeignKey(
        "core.Project", on_delete=models.CASCADE, related_name="retrain_policies"
    )
    registered_model = models.OneToOneField(
        "registry.RegisteredModel", on_delete=models.CASCADE, related_name="retrain_policy"
    )
    enabled = models.BooleanField(default=True)
    on_drift_alert = models.BooleanField(default=True)
    on_new_dataset_version = models.BooleanField(default=False)
    schedule_hours = models.PositiveIntegerField(
        default=0, help_text="Retrain every N hours; 0: no schedule."
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    data = models.CharField(max_length=30, choices=RetrainData.choices, default=RetrainData.LATEST)
    labelled_days = models.PositiveIntegerField(
        default=30, help_text="With reference_plus_labelled: predictions labelled in N days."
    )
    cooldown_minutes = models.PositiveIntegerField(
        default=360, help_text="No new retraining within N minutes of the last one launched."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["registered_model__name"]
        verbose_name_plural = "retrain policies"

    def __str__(self) -> str:
        return f"retrain {self.registered_model.name}"


class RetrainTrigger(models.TextChoices):
    DRIFT_ALERT = "drift_alert", "Drift alert"
    DATASET_VERSION = "dataset_version", "New dataset version"
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Manual"


class RetrainStatus(models.TextChoices):
    """State graph:

    preparing_data ──> training ──> requested   (a promotion request to staging is open)
          │               └───────> failed      (training failed, or no request could be made)
          └──────────────────────> failed
    skipped   (cooldown, one already in flight, nothing to train from: recorded, not run)
    """

    SKIPPED = "skipped", "Skipped"
    PREPARING_DATA = "preparing_data", "Preparing data"
    TRAINING = "training", "Training"
    REQUESTED = "requested", "Promotion requested"
    FAILED = "failed", "Failed"


IN_FLIGHT_STATUSES = (RetrainStatus.PREPARING_DATA, RetrainStatus.TRAINING)


class RetrainRun(models.Model):
    """One trigger of a retrain policy and what came of it (lineage: trigger → training job →
    model version → promotion request)."""

    policy = models.ForeignKey(RetrainPolicy, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=20, choices=RetrainTrigger.choices)
    alert = models.ForeignKey(
        "monitoring.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger_dataset_version = models.ForeignKey(
        "datasets.DatasetVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(max_length=20, choices=RetrainStatus.choices, db_index=True)
    reason = models.TextField(blank=True, help_text="Why it was skipped or failed.")
    base_version = models.ForeignKey(
        "registry.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The production version whose template and parameters were used.",
    )
    dataset_version = models.ForeignKey(
        "datasets.DatasetVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The data it trained on.",
    )
    training_job = models.ForeignKey(
        "experiments.TrainingJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retrain_runs",
    )
    model_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promotion_request = models.ForeignKey(
        "registry.PromotionRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The one-in-flight rule, held by the database too.
            models.UniqueConstraint(
                fields=["policy"],
                condition=models.Q(status__in=["preparing_data", "training"]),
                name="one_retrain_in_flight",
            ),
        ]

    def __str__(self) -> str:
        return f"retrain run #{self.pk} ({self.status})"
