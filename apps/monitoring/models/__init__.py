from apps.monitoring.models.alerts import (
    DRIFT_RULE_KINDS,
    OPEN_ALERT_STATUSES,
    Alert,
    AlertRule,
    AlertStatus,
    RuleKind,
)
from apps.monitoring.models.monitors import DriftReport, Monitor, ReportStatus, ReportTrigger
from apps.monitoring.models.retrain import (
    RetrainData,
    RetrainPolicy,
    RetrainRun,
    RetrainStatus,
    RetrainTrigger,
)

__all__ = [
    "DRIFT_RULE_KINDS",
    "OPEN_ALERT_STATUSES",
    "Alert",
    "AlertRule",
    "AlertStatus",
    "DriftReport",
    "Monitor",
    "ReportStatus",
    "ReportTrigger",
    "RetrainData",
    "RetrainPolicy",
    "RetrainRun",
    "RetrainStatus",
    "RetrainTrigger",
    "RuleKind",
]
