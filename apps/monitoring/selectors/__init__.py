"""Reads of monitoring, scoped to the caller's projects."""
