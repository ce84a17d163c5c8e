from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.monitoring.models import Alert, AlertRule, AlertStatus, RuleKind

MAX_ID = 2**31 - 1

KIND_HELP = (
    "dataset_drift (no options) | drift_share_above (threshold: share 0-1) | feature_drifted "
    "(feature: a monitored column) | metric_below (metric: accuracy, precision, recall, f1, "
    "roc_auc or r2; threshold) | error_rate_above (threshold: rate 0-1) | latency_p95_above "
    "(threshold: ms > 0)"
)


class AlertRuleSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="monitor.project.slug", read_only=True)
    deployment = serializers.CharField(source="monitor.deployment.slug", read_only=True)
    kind = serializers.ChoiceField(choices=RuleKind.choices, help_text=KIND_HELP)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    open_alert = serializers.SerializerMethodField(
        help_text="The rule's unresolved (open or acknowledged) alert, if any."
    )

    class Meta:
        model = AlertRule
        fields = [
            "id", "monitor", "project", "deployment", "kind", "threshold", "feature", "metric",
            "enabled", "open_alert", "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_open_alert(self, rule: AlertRule) -> int | None:
        return getattr(rule, "open_alert_id", None)


class AlertRuleCreateSerializer(serializers.Serializer):
    monitor = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Monitor id")
    kind = serializers.ChoiceField(choices=RuleKind.choices, help_text=KIND_HELP)
    threshold = serializers.FloatField(required=False, allow_null=True, default=None)
    feature = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    metric = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    enabled = serializers.BooleanField(required=False, default=True)


class AlertRuleUpdateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=RuleKind.choices, required=False, help_text="Fixed at creation; may be repeated."
    )
    threshold = serializers.FloatField(required=False, allow_null=True)
    feature = serializers.CharField(max_length=200, required=False, allow_blank=True)
    metric = serializers.CharField(max_length=100, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)


class AlertSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.slug", read_only=True)
    deployment = serializers.CharField(source="monitor.deployment.slug", read_only=True)
    monitor_name = serializers.CharField(source="monitor.name", read_only=True)
    kind = serializers.ChoiceField(choices=RuleKind.choices, read_only=True)
    status = serializers.ChoiceField(choices=AlertStatus.choices, read_only=True)
    threshold = serializers.FloatField(source="rule.threshold", read_only=True, allow_null=True)
    feature = serializers.CharField(source="rule.feature", read_only=True)
    metric = serializers.CharField(source="rule.metric", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Alert
        fields = [
            "id", "project", "deployment", "monitor", "monitor_name", "rule", "kind", "status",
            "message", "value", "last_value", "threshold", "feature", "metric", "opened_report",
            "last_report", "resolved_report", "opened_at", "acknowledged_at", "acknowledged_by",
            "resolved_at",
        ]  # fmt: skip
        read_only_fields = fields
