from django.contrib import admin

from apps.monitoring.models import Alert, AlertRule, DriftReport, Monitor, RetrainPolicy, RetrainRun

for model in (Monitor, DriftReport, AlertRule, Alert, RetrainPolicy, RetrainRun):
    admin.site.register(model)
