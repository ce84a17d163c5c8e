"""The page form for a new sweep. It shapes browser input only (JSON text into objects); what a
sweep must obey is checked by `services.sweep_create`, whose field messages the page shows next
to the fields, worded exactly as the API words them."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.db.models import QuerySet

from apps.core.models import Project
from apps.datasets.models import DatasetVersion, VersionStatus
from apps.datasets.views.common import error_messages
from apps.experiments.models import Direction, Strategy, Task
from apps.experiments.services.sweeps import MAX_TRIALS, TASK_METRICS

EXAMPLE_SPACE = {
    "learning_rate": {"min": 0.0001, "max": 0.1, "scale": "log"},
    "dropout": {"min": 0, "max": 0.5},
    "batch_size": [32, 64],
}
EXAMPLE_BASE = {"epochs": 20}


def _metric_choices() -> list[tuple[str, str]]:
    names = dict.fromkeys(name for metrics in TASK_METRICS.values() for name in metrics)
    return [(name, name) for name in names]


class JSONObjectField(forms.CharField):
    """A textarea holding a JSON object; the error says where the JSON breaks."""

    # Styled here: the shared stylesheet only sizes textareas of other forms.
    widget = forms.Textarea(
        attrs={
            "rows": 9,
            "spellcheck": "false",
            "style": "width: 100%; font-family: ui-monospace, monospace; font-size: .85rem",
        }
    )

    def to_python(self, value: Any) -> Any:
        text = (super().to_python(value) or "").strip()
        if not text:
            return {}
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from exc
        if not isinstance(parsed, dict):
            raise forms.ValidationError('Must be a JSON object: {"name": ...}.')
        return parsed


class SweepForm(forms.Form):
    project = forms.ModelChoiceField(
        queryset=Project.objects.none(), to_field_name="slug", empty_label="Choose a project"
    )
    name = forms.CharField(max_length=200, required=False, help_text="Optional, for people.")
    experiment = forms.CharField(
        max_length=200, help_text="Every trial is a training job in this experiment."
    )
    dataset_version = forms.ModelChoiceField(
        queryset=DatasetVersion.objects.none(), empty_label="Choose a dataset version"
    )
    target = forms.CharField(max_length=200, label="Target column")
    task = forms.ChoiceField(choices=Task.choices)
    template = forms.ChoiceField(choices=(), label="Model template")
    model_name = forms.CharField(
        max_length=200,
        required=False,
        label="Model name",
        widget=forms.TextInput(attrs={"placeholder": "Same as the experiment"}),
    )
    strategy = forms.ChoiceField(choices=Strategy.choices, initial=Strategy.RANDOM)
    max_trials = forms.IntegerField(min_value=1, max_value=MAX_TRIALS, initial=10)
    max_parallel = forms.IntegerField(
        min_value=1, max_value=MAX_TRIALS, initial=2, help_text="Trials training at once."
    )
    metric = forms.ChoiceField(
        choices=_metric_choices(),
        help_text="classification: accuracy, f1, roc_auc, log_loss, val_loss; "
        "regression: rmse, mae, r2, val_loss.",
    )
    direction = forms.ChoiceField(
        choices=[("", "The metric's default"), *Direction.choices], required=False
    )
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0)
    base_params = JSONObjectField(
        required=False,
        label="Base parameters (JSON)",
        help_text="What every trial shares; the template's defaults fill the rest.",
        initial=json.dumps(EXAMPLE_BASE),
    )
    space = JSONObjectField(
        label="Search space (JSON)",
        help_text="Name → list of values, or {min, max, scale: linear|log, type: int, steps}.",
        initial=json.dumps(EXAMPLE_SPACE, indent=2),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        projects: QuerySet[Project],
        versions: QuerySet[DatasetVersion],
        initial: dict[str, Any] | None = None,
    ) -> None:
        from workers.training import template_names

        super().__init__(data, initial=initial)
        self.fields["project"].queryset = projects
        only = list(projects[:2]) if not self.is_bound and "project" not in self.initial else []
        if len(only) == 1:
            self.initial["project"] = only[0].slug
        self.fields["project"].label_from_instance = lambda p: f"{p.name} ({p.slug})"
        field = self.fields["dataset_version"]
        # Any version the user can see is accepted (the service says why a failed one cannot
        # be used); the select offers the ready ones of their projects.
        field.queryset = versions
        field.label_from_instance = lambda v: (
            f"{v.dataset.project.slug} / {v.dataset.name} v{v.version}"
        )
        ready = versions.filter(status=VersionStatus.READY).defer("schema", "profile", "validation")
        ready = ready.order_by("dataset__project__slug", "dataset__name", "-version")
        field.widget.choices = [("", "Choose a dataset version")] + [
            (str(v.pk), field.label_from_instance(v)) for v in ready[:500]
        ]
        self.fields["template"].choices = [(n, n) for n in template_names()]
        self.fields["template"].initial = "mlp"

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            **{key: data[key] for key in ("project", "dataset_version", "task", "template")},
            **{key: data[key] for key in ("strategy", "max_trials", "max_parallel", "metric")},
            **{key: data[key] for key in ("direction", "seed", "base_params", "space")},
            **{key: data[key].strip() for key in ("name", "experiment", "target", "model_name")},
        }

    def add_service_errors(self, detail: Any) -> None:
        """Each message on its field; {"space": {"dropout": [...]}} reads "dropout: ..."."""
        if not isinstance(detail, dict):
            self.add_error(None, error_messages(detail))
            return
        for field, errors in detail.items():
            if isinstance(errors, dict):
                messages = [
                    m if name == "non_field_errors" else f"{name}: {m}"
                    for name, value in errors.items()
                    for m in error_messages(value)
                ]
            else:
                messages = error_messages(errors)
            self.add_error(field if field in self.fields else None, messages)
