"""Page forms for training. They shape browser input only: what a value must obey is checked by
`services.training_job_create` (and `workers.training.validate_params`), whose field messages
the launch page shows next to the fields, exactly as the API words them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from apps.core.models import JobStatus, Project
from apps.datasets.models import DatasetVersion, VersionStatus
from apps.datasets.views.common import error_messages
from apps.experiments.models import Experiment, Task

PARAM_PREFIX = "param_"
DEFAULT_TEMPLATE = "mlp"


def _templates() -> list[str]:
    from workers.training import template_names

    return list(template_names())


def _schema(template: str) -> dict[str, dict[str, Any]]:
    from workers.training import param_schema

    return dict(param_schema(template))


def param_kind(spec: dict[str, Any]) -> str:
    """How a parameter is typed into the page: choice, bool, list, int, float or text."""
    kind = str(spec.get("type", "")).lower()
    if spec.get("choices"):
        return "choice"
    if kind in ("bool", "boolean"):
        return "bool"
    if "list" in kind or isinstance(spec.get("default"), list | tuple):
        return "list"
    if kind in ("int", "integer"):
        return "int"
    if kind in ("float", "number", "double"):
        return "float"
    return "text"


def _list_item_type(spec: dict[str, Any]) -> type:
    kind = str(spec.get("type", "")).lower()
    default = spec.get("default") or []
    if "float" in kind or any(isinstance(item, float) for item in default):
        return float
    return int


def param_text(spec: dict[str, Any], value: Any) -> str:
    """A value as the page shows it in a text box: lists as comma-separated text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _number(text: str, kind: str) -> Any:
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        return text  # the service names what is wrong with it


def param_value(spec: dict[str, Any], raw: Any) -> Any:
    """The typed value of one submitted parameter; text that does not parse is passed on as it
    is, so the trainer's own message ("must be an integer") is what the user reads."""
    kind = param_kind(spec)
    if kind == "bool":
        return bool(raw)
    text = "" if raw is None else str(raw).strip()
    if kind == "list":
        items = [item.strip() for item in text.strip("[]()").split(",") if item.strip()]
        typed = [
            _number(item, "int" if _list_item_type(spec) is int else "float") for item in items
        ]
        return typed if all(not isinstance(item, str) for item in typed) else text
    if kind in ("int", "float"):
        return _number(text, kind)
    if kind == "choice":
        return next((c for c in spec["choices"] if str(c) == text), text)
    return text


def _param_field(name: str, spec: dict[str, Any]) -> forms.Field:
    kind = param_kind(spec)
    default = spec.get("default")
    low, high = spec.get("min"), spec.get("max")
    if low is not None and high is not None:
        bounds = f"{low} to {high}"
    elif low is not None:
        bounds = f"at least {low}"
    else:
        bounds = f"at most {high}" if high is not None else ""
    help_parts = [str(spec.get("help") or "").strip()]
    if kind == "list":
        help_parts.append("Comma-separated, e.g. 64, 32.")
    if bounds:
        help_parts.append(f"Range: {bounds}.")
    shown = ("on" if default else "off") if kind == "bool" else param_text(spec, default)
    help_parts.append(f"Default: {shown or '—'}.")
    common = {"label": name, "help_text": " ".join(p for p in help_parts if p)}
    if kind == "bool":
        return forms.BooleanField(required=False, initial=bool(default), **common)
    required = default is not None and kind != "list"
    if kind == "choice":
        choices = [(str(c), str(c)) for c in spec["choices"]]
        return forms.ChoiceField(
            choices=choices, required=required, initial=param_text(spec, default), **common
        )
    attrs: dict[str, Any] = {"data-param": name, "autocomplete": "off"}
    if kind in ("int", "float"):
        attrs["step"] = "1" if kind == "int" else "any"
        for key in ("min", "max"):
            if spec.get(key) is not None:
                attrs[key] = spec[key]
        widget: forms.Widget = forms.NumberInput(attrs=attrs)
    else:
        widget = forms.TextInput(attrs={**attrs, "spellcheck": "false"})
    # Text, not a number field: a value Django could not parse still reaches the service, which
    # explains what is wrong with it in the same words the API uses.
    return forms.CharField(
        required=required, initial=param_text(spec, default), widget=widget, **common
    )


class TrainingJobForm(forms.Form):
    project = forms.ModelChoiceField(
        queryset=Project.objects.none(), to_field_name="slug", empty_label="Choose a project"
    )
    experiment = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"list": "experiment-names", "autocomplete": "off"}),
        help_text="A new name starts a new experiment; an existing one adds a run to it.",
    )
    dataset_version = forms.ModelChoiceField(
        queryset=DatasetVersion.objects.none(), empty_label="Choose a dataset version"
    )
    target = forms.CharField(max_length=200, widget=forms.Select, label="Target column")
    task = forms.ChoiceField(choices=Task.choices)
    template = forms.ChoiceField(choices=(), label="Model template")
    model_name = forms.CharField(
        max_length=200,
        required=False,
        label="Model name",
        help_text="The registered model the run becomes a version of.",
        widget=forms.TextInput(attrs={"placeholder": "Same as the experiment"}),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        projects: QuerySet[Project],
        versions: QuerySet[DatasetVersion],
        experiments: QuerySet[Experiment],
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial=initial)
        self.fields["project"].queryset = projects
        self.fields["project"].label_from_instance = lambda p: f"{p.name} ({p.slug})"
        self.templates = _templates()
        self.fields["template"].choices = [(name, name) for name in self.templates]
        self.chosen_project = self._current_project(projects)
        self._set_version_choices(versions)
        self._set_target_choices()
        self.chosen_template = self._current_template()
        self.param_specs = _schema(self.chosen_template) if self.chosen_template else {}
        for name, spec in self.param_specs.items():
            self.fields[PARAM_PREFIX + name] = _param_field(name, spec)
        # Offered as suggestions (a datalist): an existing name adds the run to that experiment.
        self.experiment_names = (
            list(
                experiments.filter(project=self.chosen_project).values_list("name", flat=True)[:200]
            )
            if self.chosen_project
            else []
        )

    # --- what is chosen now (the submitted value, or the initial one) --------------------------

    def value(self, name: str) -> Any:
        if self.is_bound:
            return self.data.get(name)
        value = self.initial.get(name, self.fields[name].initial if name in self.fields else None)
        return value() if callable(value) else value

    def _current_project(self, projects: QuerySet[Project]) -> Project | None:
        slug = self.value("project")
        if isinstance(slug, Project):
            return slug
        if not slug:
            only = list(projects[:2])
            if len(only) == 1 and not self.is_bound:
                self.initial["project"] = only[0].slug
                return only[0]
            return None
        if "\x00" in str(slug):  # PostgreSQL refuses NUL in text: no project has it
            return None
        return projects.filter(slug=str(slug)).first()

    def _current_template(self) -> str | None:
        chosen = self.value("template")
        if chosen in self.templates:
            return chosen
        if self.is_bound:
            return None
        default = DEFAULT_TEMPLATE if DEFAULT_TEMPLATE in self.templates else None
        default = default or (self.templates[0] if self.templates else None)
        self.initial["template"] = default
        return default

    def _set_version_choices(self, versions: QuerySet[DatasetVersion]) -> None:
        """The select lists the chosen project's ready versions; any version the user can see
        is accepted, so the service can say why a failed one cannot be trained on."""
        field = self.fields["dataset_version"]
        field.queryset = versions
        field.label_from_instance = lambda v: f"{v.dataset.name} v{v.version}"
        self.version: DatasetVersion | None = None
        light = versions.select_related(None).select_related("dataset")
        light = light.only("id", "version", "status", "dataset__id", "dataset__name")
        listed = (
            list(
                light.filter(
                    dataset__project=self.chosen_project, status=VersionStatus.READY
                ).order_by("dataset__name", "-version")[:500]
            )
            if self.chosen_project
            else []
        )
        choices = [("", "Choose a dataset version" if listed else "No ready dataset versions")]
        choices += [(str(v.pk), f"{v.dataset.name} v{v.version}") for v in listed]
        chosen = str(self.value("dataset_version") or "")
        if isinstance(self.value("dataset_version"), DatasetVersion):
            chosen = str(self.value("dataset_version").pk)
        if chosen.isdigit():
            self.version = versions.defer("profile", "validation").filter(pk=int(chosen)).first()
            if self.version and not any(key == chosen for key, _ in choices):
                v = self.version
                choices.append((chosen, f"{v.dataset.name} v{v.version} ({v.status})"))
        field.widget.choices = choices

    def _set_target_choices(self) -> None:
        columns = [
            c for c in (self.version.schema or []) if isinstance(c, dict) and c.get("name")
        ] if self.version and self.version.status == VersionStatus.READY else []  # fmt: skip
        if columns:
            empty = "Choose a column"
        elif self.version:
            empty = f"v{self.version.version} is {self.version.status}: it has no columns yet"
        else:
            empty = "Choose a dataset version first"
        choices = [("", empty)]
        choices += [(str(c["name"]), f"{c['name']} ({c.get('type', '?')})") for c in columns]
        chosen = self.value("target")
        if self.is_bound and chosen and not any(key == chosen for key, _ in choices):
            choices.append((str(chosen), str(chosen)))  # keep what was sent; the error says why
        self.fields["target"].widget.choices = choices

    # --- fields as the template groups them ------------------------------------------------------

    @property
    def param_fields(self) -> list[forms.BoundField]:
        return [self[PARAM_PREFIX + name] for name in self.param_specs]

    # --- to and from the service ---------------------------------------------------------------

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        params = {}
        for name, spec in self.param_specs.items():
            raw = data.get(PARAM_PREFIX + name)
            if raw in (None, "") and param_kind(spec) not in ("bool", "list"):
                continue  # an optional parameter left empty: the template's default applies
            params[name] = param_value(spec, raw)
        return {
            "project": data["project"],
            "experiment": data["experiment"].strip(),
            "dataset_version": data["dataset_version"],
            "target": data["target"],
            "task": data["task"],
            "template": data["template"],
            "params": params,
            "model_name": data["model_name"].strip(),
        }

    def add_service_errors(self, detail: Any) -> None:
        """Put the service's messages on their fields; {"params": {"lr": [...]}} on lr's box."""
        if not isinstance(detail, dict):
            self.add_error(None, error_messages(detail))
            return
        for field, errors in detail.items():
            if field == "params" and isinstance(errors, dict):
                for name, messages in errors.items():
                    key = PARAM_PREFIX + str(name)
                    if key in self.fields:
                        self.add_error(key, error_messages(messages))
                    else:
                        self.add_error(None, [f"{name}: {m}" for m in error_messages(messages)])
            elif field in self.fields:
                self.add_error(field, error_messages(errors))
            else:
                self.add_error(None, error_messages(errors))


SORTS = {
    "created": "job__created_at",
    "status": "job__status",
    "experiment": "experiment__name",
    "dataset": "dataset_version__dataset__name",
    "template": "template",
}


class TrainingJobFilterForm(forms.Form):
    project = forms.CharField(required=False)
    experiment = forms.IntegerField(required=False, min_value=1)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *JobStatus.choices])
    sort = forms.CharField(required=False)

    def sort_key(self) -> str:
        value = (self.cleaned_data.get("sort") if self.is_valid() else "") or "-created"
        return value if value.lstrip("-") in SORTS else "-created"

    def filter_jobs(self, jobs: QuerySet) -> QuerySet:
        if self.is_valid():
            data = self.cleaned_data
            if data["project"]:
                jobs = jobs.filter(experiment__project__slug=data["project"])
            if data["experiment"]:
                jobs = jobs.filter(experiment_id=data["experiment"])
            if data["status"]:
                jobs = jobs.filter(job__status=data["status"])
        key = self.sort_key()
        field = SORTS[key.lstrip("-")]
        prefix = "-" if key.startswith("-") else ""
        return jobs.order_by(f"{prefix}{field}", f"{prefix}id")

    def filter_experiments(self, experiments: QuerySet) -> QuerySet:
        if self.is_valid() and self.cleaned_data["project"]:
            experiments = experiments.filter(project__slug=self.cleaned_data["project"])
        return experiments
