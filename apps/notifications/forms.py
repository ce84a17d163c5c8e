from __future__ import annotations

from typing import Any

from django import forms

from apps.notifications.models import EVENTS, http_url
from apps.notifications.webhooks import MIN_SECRET_LENGTH


class WebhookForm(forms.Form):
    url = forms.CharField(
        label="URL", max_length=500, validators=[http_url],
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/portal"}),
    )  # fmt: skip
    secret = forms.CharField(
        required=False, min_length=MIN_SECRET_LENGTH, max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Signs each payload (HMAC-SHA256). Leave empty to have one generated; it is "
        "shown once.",
    )  # fmt: skip
    events = forms.MultipleChoiceField(
        required=False,
        choices=[(name, f"{name} ({label.lower()})") for name, label in EVENTS.items()],
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )
    active = forms.BooleanField(required=False, initial=True)

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class WebhookEditForm(WebhookForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["secret"].help_text = "Leave empty to keep the current secret."
        self.fields["secret"].label = "New secret"

    def service_kwargs(self) -> dict[str, Any]:
        values = dict(self.cleaned_data)
        if not values.get("secret"):
            values.pop("secret", None)
        return values
