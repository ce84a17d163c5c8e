"""Reads of the deployments app (`serving.py` belongs to the data plane)."""
