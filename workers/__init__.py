"""Compute that runs inside Celery workers (training, drift), free of Django where it can be."""
