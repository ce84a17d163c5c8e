"""Retrain policies and runs over the API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.monitoring.models import (
    RetrainData,
    RetrainPolicy,
    RetrainRun,
    RetrainStatus,
    RetrainTrigger,
)
from apps.monitoring.services.retrain_policies import (
    MAX_COOLDOWN_MINUTES,
    MAX_LABELLED_DAYS,
    MAX_SCHEDULE_HOURS,
)

MAX_ID = 2**31 - 1
CREATOR_HELP = (
    "Who created the policy: its promotion requests are made in their name, so they cannot "
    "approve them."
)


class _ModelBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class _LastRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RetrainStatus.choices)
    created_at = serializers.DateTimeField()


class RetrainPolicySerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.slug")
    model = _ModelBriefSerializer(source="registered_model")
    data = serializers.ChoiceField(choices=RetrainData.choices)
    scheduled = serializers.SerializerMethodField(
        help_text="A django-celery-beat task triggers it every `schedule_hours`."
    )
    created_by = serializers.CharField(
        source="created_by.username", allow_null=True, help_text=CREATOR_HELP
    )
    last_run = serializers.SerializerMethodField()

    class Meta:
        model = RetrainPolicy
        fields = [
            "id", "project", "model", "enabled", "on_drift_alert", "on_new_dataset_version",
            "schedule_hours", "scheduled", "data", "labelled_days", "cooldown_minutes",
            "created_by", "created_at", "updated_at", "last_run",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_scheduled(self, policy: RetrainPolicy) -> bool:
        return policy.periodic_task_id is not None

    @extend_schema_field(_LastRunSerializer(allow_null=True))
    def get_last_run(self, policy: RetrainPolicy) -> dict | None:
        run_id = getattr(policy, "last_run_id", None)
        if run_id is None:
            return None
        return {"id": run_id, "status": policy.last_run_status, "created_at": policy.last_run_at}


class _PolicyFieldsSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    on_drift_alert = serializers.BooleanField(
        required=False, help_text="Retrain when a drift alert opens on a deployment of the model."
    )
    on_new_dataset_version = serializers.BooleanField(
        required=False,
        help_text="Retrain when a new version of the production version's dataset is ready.",
    )
    schedule_hours = serializers.IntegerField(
        min_value=0, max_value=MAX_SCHEDULE_HOURS, required=False,
        help_text="Retrain every N hours; 0: no schedule.",
    )  # fmt: skip
    data = serializers.ChoiceField(choices=RetrainData.choices, required=False)
    labelled_days = serializers.IntegerField(
        min_value=1, max_value=MAX_LABELLED_DAYS, required=False,
        help_text="With reference_plus_labelled: predictions labelled in the last N days.",
    )  # fmt: skip
    cooldown_minutes = serializers.IntegerField(
        min_value=0, max_value=MAX_COOLDOWN_MINUTES, required=False,
        help_text="No new retraining within N minutes of the last one launched (default 360).",
    )  # fmt: skip


class RetrainPolicyCreateSerializer(_PolicyFieldsSerializer):
    model = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Registered model id")


class RetrainPolicyUpdateSerializer(_PolicyFieldsSerializer):
    """Only the fields sent change; the model and the creator never do."""


class _VersionBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()


class _DatasetVersionBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.CharField(source="dataset.name")
    version = serializers.IntegerField()


class _RequestBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    target = serializers.CharField()


class _TrainingBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(source="job.status")


class RetrainRunSerializer(serializers.ModelSerializer):
    trigger = serializers.ChoiceField(choices=RetrainTrigger.choices)
    status = serializers.ChoiceField(choices=RetrainStatus.choices)
    trigger_dataset_version = _DatasetVersionBriefSerializer(allow_null=True)
    base_version = _VersionBriefSerializer(
        allow_null=True, help_text="The production version whose template and params were used."
    )
    dataset_version = _DatasetVersionBriefSerializer(
        allow_null=True, help_text="The data it trained on."
    )
    training_job = _TrainingBriefSerializer(allow_null=True)
    model_version = _VersionBriefSerializer(allow_null=True)
    promotion_request = _RequestBriefSerializer(allow_null=True)
    created_by = serializers.CharField(
        source="created_by.username", allow_null=True, help_text="Who triggered it by hand."
    )

    class Meta:
        model = RetrainRun
        fields = [
            "id", "policy", "trigger", "alert", "trigger_dataset_version", "status", "reason",
            "base_version", "dataset_version", "training_job", "model_version",
            "promotion_request", "created_by", "created_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class RetrainRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Why no retraining was launched.")
    run = RetrainRunSerializer(
        allow_null=True, help_text="The skipped run recorded in the history (none if disabled)."
    )
