from __future__ import annotations

from django import forms

from apps.core.models import Role
from apps.core.models.projects import slug_validator


class ProjectForm(forms.Form):
    slug = forms.CharField(max_length=50, validators=[slug_validator])
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
