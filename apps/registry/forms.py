"""Forms of the registry pages: card sections, a stage's promotion policy, a moment in time."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.registry.models import CARD_SECTIONS, PromotionPolicy
from apps.registry.selectors.policies import Policy
from apps.registry.services.cards import MAX_SECTION_CHARS


class CardForm(forms.Form):
    """Every section at once: the page shows the whole card in one form."""

    def __init__(self, *args: Any, card: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label in CARD_SECTIONS.items():
            self.fields[key] = forms.CharField(
                label=label,
                required=False,
                strip=False,
                max_length=MAX_SECTION_CHARS,
                initial=(card or {}).get(key, ""),
                widget=forms.Textarea(attrs={"rows": 4}),
            )


class PolicyForm(forms.Form):
    approvals_required = forms.IntegerField(min_value=1, max_value=10)
    primary_metric = forms.CharField(
        required=False, max_length=100, help_text="Empty: accuracy or rmse, by task."
    )
    direction = forms.ChoiceField(
        required=False,
        choices=[("", "From the metric"), ("max", "Higher is better"), ("min", "Lower is better")],
    )
    floor = forms.FloatField(
        required=False, min_value=-1e12, max_value=1e12, help_text="Empty: no floor."
    )
    tolerance = forms.FloatField(min_value=0, max_value=1e12)
    require_validation = forms.BooleanField(
        required=False, label="Dataset version must have passed validation"
    )
    expiry_days = forms.IntegerField(
        min_value=1, max_value=90, label="Open requests expire after (days)"
    )
    deploy_strategy = forms.ChoiceField(
        choices=[("direct", "Direct: all traffic"), ("canary", "Canary beside the current one")],
        label="On approval, deploy",
        required=False,
    )
    canary_percent = forms.IntegerField(
        min_value=1, max_value=99, label="Canary traffic (%)", required=False
    )

    # Forms posted before these fields existed (and scripts) leave them out: the defaults apply.
    def clean_deploy_strategy(self) -> str:
        return self.cleaned_data.get("deploy_strategy") or "direct"

    def clean_canary_percent(self) -> int:
        value = self.cleaned_data.get("canary_percent")
        return 10 if value is None else value

    @classmethod
    def for_policy(
        cls, policy: Policy, row: PromotionPolicy | None = None, data: Any = None
    ) -> PolicyForm:
        """Initial values from the stored row: a metric left empty stays empty (it follows the
        task), where `policy` has the default filled in."""
        initial = {
            "approvals_required": policy.approvals_required,
            "primary_metric": row.primary_metric if row else "",
            "direction": row.direction if row else "",
            "floor": policy.floor,
            "tolerance": policy.tolerance,
            "require_validation": policy.require_validation,
            "expiry_days": policy.expiry_days,
            "deploy_strategy": policy.deploy_strategy,
            "canary_percent": policy.canary_percent,
        }
        return cls(data, initial=initial, prefix=policy.stage)


class AtForm(forms.Form):
    at = forms.DateTimeField(label="What was in production at", help_text="UTC")
