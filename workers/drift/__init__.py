"""Drift compute, free of Django: load a prediction window, compare it with a reference.

`window.load_window(conn, deployment_id=...)` reads the prediction log with one COPY;
`report.run_drift(reference, current, ...)` runs Evidently and returns a `DriftSummary`.
"""
