"""Writes of monitoring: monitors and their schedules, drift runs, alerts, retraining.

Flow: a drift report is stored by `drift.drift_report_store`, which in the same transaction
calls `alerts.alerts_evaluate(report=...)`; every alert it opens whose kind is in
DRIFT_RULE_KINDS is handed, on commit, to `retrain.retrain_on_alert(alert_id=...)`.
"""
