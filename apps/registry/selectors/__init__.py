"""Reads of the registry, narrowed to the caller's projects."""
