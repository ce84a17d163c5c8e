"""Operational metrics for Prometheus (`/metrics`) and the request-latency middleware's histogram.

Two kinds of figures:
- in-process: request latency by view, measured by RequestMetricsMiddleware in each web process;
- from shared state at scrape time (collectors.py): predictions, job durations, drift reports
  from the database, queue depths from the broker. Workers are other processes (other hosts),
  so their in-memory counters could never reach this endpoint; the rows they write can.
"""
