from __future__ import annotations

from decimal import Decimal

from django.core.validators import RegexValidator
from rest_framework import serializers

from apps.costs.models import THRESHOLDS, Budget

_currency = RegexValidator(r"^[A-Z]{3,10}$", "Use an uppercase currency code, e.g. USD or EUR.")


class BudgetSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.slug", read_only=True)
    project_name = serializers.CharField(source="project.name", read_only=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    thresholds = serializers.SerializerMethodField(
        help_text="Percentages of the budget at which members are alerted."
    )
    spent = serializers.SerializerMethodField(help_text="Spent this month (UTC), same currency.")
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Budget
        fields = [
            "id", "project", "project_name", "amount", "currency", "thresholds", "spent",
            "created_at", "updated_at", "updated_by",
        ]  # fmt: skip
        read_only_fields = fields

    def get_thresholds(self, obj: Budget) -> list[int]:
        return sorted(THRESHOLDS)

    def get_spent(self, obj: Budget) -> float:
        return self.context.get("spent", {}).get(obj.project.slug, 0.0)


class BudgetWriteSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"),
        help_text="Monthly budget, in `currency`.",
    )  # fmt: skip
    currency = serializers.CharField(
        max_length=10, required=False, allow_blank=True, validators=[_currency],
        help_text="Default: the portal's COST_CURRENCY.",
    )  # fmt: skip


class BudgetCreateSerializer(BudgetWriteSerializer):
    project = serializers.SlugField(max_length=50, help_text="Project slug (you must be admin).")


class BudgetUpdateSerializer(BudgetWriteSerializer):
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False
    )


class CostQuerySerializer(serializers.Serializer):
    month = serializers.CharField(
        required=False, allow_blank=True, help_text="YYYY-MM (UTC); default this month."
    )
    project = serializers.CharField(
        required=False, allow_blank=True, help_text="Project slug; default all your projects."
    )


class ProjectSpendSerializer(serializers.Serializer):
    project = serializers.CharField()
    name = serializers.CharField()
    spent = serializers.FloatField()
    budget = serializers.FloatField(allow_null=True)
    currency = serializers.CharField()


class KindCostSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="training, sweeps or serving.")
    cost = serializers.FloatField()


class ModelCostSerializer(serializers.Serializer):
    project = serializers.CharField()
    model = serializers.CharField()
    training = serializers.FloatField()
    serving = serializers.FloatField()
    total = serializers.FloatField()


class DeploymentCostSerializer(serializers.Serializer):
    deployment = serializers.CharField()
    project = serializers.CharField()
    model = serializers.CharField()
    hours = serializers.FloatField(help_text="Serving hours in the month.")
    cost = serializers.FloatField()
    predictions = serializers.IntegerField(help_text="Predictions served (shadow copies excluded).")
    cost_per_1k_predictions = serializers.FloatField(
        allow_null=True, help_text="Null without predictions or without a serving rate."
    )


class JobCostSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Training job id.")
    project = serializers.CharField()
    model = serializers.CharField()
    template = serializers.CharField()
    device = serializers.CharField()
    sweep = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    finished_at = serializers.DateTimeField(allow_null=True)
    cost = serializers.FloatField()


class CostReportSerializer(serializers.Serializer):
    month = serializers.CharField()
    currency = serializers.CharField()
    serving_configured = serializers.BooleanField(
        help_text="False: SERVING_COST_PER_HOUR is 0, serving costs are not counted."
    )
    total = serializers.FloatField()
    by_project = ProjectSpendSerializer(many=True)
    by_kind = KindCostSerializer(many=True)
    by_model = ModelCostSerializer(many=True)
    deployments = DeploymentCostSerializer(many=True)
    top_jobs = JobCostSerializer(many=True)
