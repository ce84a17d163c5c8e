"""The runs table's query string, checked once for both the API and the page:

?project=alpha&experiment=3&status=FINISHED&status=FAILED&dataset=2&dataset_version=7
&template=mlp&external=true&param=optimizer:adam&param=epochs:20&search=baseline
&ordering=-metrics.accuracy      (or metrics.rmse, params.learning_rate, -start_time, ...)
"""

from __future__ import annotations

from django import forms
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from apps.experiments.models import RunStatus
from apps.experiments.selectors.runs import DEFAULT_ORDERING, PLAIN_ORDERINGS, RunFilters

MAX_KEY = 250
MAX_PARAM_FILTERS = 10
MAX_COMPARE = 10


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise forms.ValidationError("Null characters are not allowed.")


class RunFilterForm(forms.Form):
    project = forms.SlugField(required=False, max_length=100)
    experiment = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    status = forms.MultipleChoiceField(required=False, choices=RunStatus.choices)
    dataset = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    dataset_version = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    template = forms.CharField(required=False, max_length=50, validators=[_no_nul])
    external = forms.NullBooleanField(required=False)
    param = forms.CharField(required=False)  # repeated; read in clean_param
    search = forms.CharField(required=False, max_length=200, validators=[_no_nul])
    ordering = forms.CharField(required=False, max_length=MAX_KEY + 10, validators=[_no_nul])

    def __init__(self, data: QueryDict, *args, **kwargs) -> None:
        super().__init__(data, *args, **kwargs)
        self._params_raw = data.getlist("param") if hasattr(data, "getlist") else []

    def clean_param(self) -> dict[str, str]:
        raw = [p for p in self._params_raw if p]
        if len(raw) > MAX_PARAM_FILTERS:
            raise forms.ValidationError(f"At most {MAX_PARAM_FILTERS} parameter filters.")
        params: dict[str, str] = {}
        for item in raw:
            name, sep, value = item.partition(":")
            if not sep or not name or len(name) > MAX_KEY or "\x00" in item:
                raise forms.ValidationError(
                    f"'{item[:80]}' is not NAME:VALUE (for example optimizer:adam)."
                )
            params[name] = value
        return params

    def clean_ordering(self) -> str:
        value = self.cleaned_data.get("ordering") or DEFAULT_ORDERING
        key = value[1:] if value.startswith("-") else value
        kind, sep, name = key.partition(".")
        if sep and kind in ("metrics", "params") and 0 < len(name) <= MAX_KEY:
            return value
        if key in PLAIN_ORDERINGS:
            return value
        allowed = ", ".join(sorted(PLAIN_ORDERINGS))
        raise forms.ValidationError(
            f"Sort by {allowed}, metrics.NAME or params.NAME (a leading - reverses it)."
        )

    def run_filters(self) -> RunFilters:
        """The filters; call after is_valid()."""
        data = self.cleaned_data
        return RunFilters(
            project=data.get("project") or "",
            experiment=data.get("experiment"),
            status=data.get("status") or [],
            dataset=data.get("dataset"),
            dataset_version=data.get("dataset_version"),
            template=data.get("template") or "",
            external=data.get("external"),
            params=data.get("param") or {},
            search=data.get("search") or "",
            ordering=data.get("ordering") or DEFAULT_ORDERING,
        )


def parse_ids(raw: list[str]) -> list[int]:
    ids: list[int] = []
    for part in ",".join(raw).split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not 0 < int(part) < 2**31:
            raise ValidationError({"ids": [f"'{part[:20]}' is not a run id."]})
        if int(part) not in ids:
            ids.append(int(part))
    if not 2 <= len(ids) <= MAX_COMPARE:
        raise ValidationError({"ids": [f"Pick 2 to {MAX_COMPARE} runs; got {len(ids)}."]})
    return ids
