"""Page forms for datasets. They only shape browser input: the rules a value must obey live in
the services and in the API serializers, which the views call so pages and API say the same."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db.models import QuerySet

from apps.core.models import Project
from apps.datasets.models import RuleKind

# What each rule kind expects in `params`; shown next to the JSON field (and used by
# static/js/datasets.js as the placeholder when the kind changes).
PARAMS_HINTS: dict[str, str] = {
    RuleKind.REQUIRED_COLUMNS: '{"columns": ["id", "label"]}',
    RuleKind.COLUMN_TYPE: '{"type": "integer"}  (integer, float, boolean, string, datetime)',
    RuleKind.NOT_NULL: "{}",
    RuleKind.MIN: '{"value": 0}',
    RuleKind.MAX: '{"value": 100}',
    RuleKind.ALLOWED_VALUES: '{"values": ["a", "b"]}',
    RuleKind.UNIQUE: "{}",
    RuleKind.MAX_MISSING_FRACTION: '{"value": 0.05}',
    RuleKind.ROW_COUNT_RANGE: '{"min": 100, "max": null}',
}


class DatasetSearchForm(forms.Form):
    project = forms.CharField(required=False)
    q = forms.CharField(required=False, max_length=200)

    def filter(self, datasets: QuerySet) -> QuerySet:
        if not self.is_valid():
            return datasets
        if self.cleaned_data["project"]:
            datasets = datasets.filter(project__slug=self.cleaned_data["project"])
        if self.cleaned_data["q"]:
            datasets = datasets.filter(name__icontains=self.cleaned_data["q"])
        return datasets


class DatasetForm(forms.Form):
    project = forms.ModelChoiceField(
        queryset=Project.objects.none(), to_field_name="slug", empty_label="Choose a project"
    )
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, projects: QuerySet[Project], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects
        self.fields["project"].label_from_instance = lambda p: f"{p.name} ({p.slug})"


class ValidationRuleForm(forms.Form):
    kind = forms.ChoiceField(choices=RuleKind.choices)
    column = forms.CharField(required=False, max_length=200)
    params = forms.CharField(
        required=False,
        label="Params (JSON)",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )

    def clean_params(self) -> Any:
        # Only the JSON syntax is checked here; what the object must hold is the serializer's job.
        raw = self.cleaned_data["params"].strip()
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}).") from exc
