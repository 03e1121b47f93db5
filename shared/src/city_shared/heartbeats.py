"""Heartbeats of a worker's periodic jobs: when each last completed a round, so that an alert
notices a job that no longer runs (holds never expire, payments stay open) instead of a citizen.

A job calls :func:`job_started` once with its interval and :func:`job_succeeded` after every
round that completed without an error (whether or not it found anything to do). Prometheus then
sees, per worker pod, ``city_job_interval_seconds`` (the job is registered) and
``city_job_last_success_timestamp_seconds`` (absent until the first good round): a job whose
last success is older than a few intervals, or that never succeeded since the worker started,
is not running (``deploy/k8s/components/monitoring/prometheusrules.yaml``).

The label is the job's name as it appears in logs (``hold expiry``, ``payment expiry``): never
ids or data. Job names are unique within a worker; the pod label Prometheus adds tells the
service.
"""

from __future__ import annotations

import time
from typing import Final

from prometheus_client import Gauge

__all__ = ["JOB_INTERVAL", "JOB_LAST_SUCCESS", "job_started", "job_succeeded"]

JOB_LAST_SUCCESS: Final = Gauge(
    "city_job_last_success_timestamp_seconds",
    "Unix time at which a worker job last completed a round without error, by job.",
    ["task"],
    multiprocess_mode="max",
)
JOB_INTERVAL: Final = Gauge(
    "city_job_interval_seconds",
    "The pause between two rounds of a worker job, by job; set when the job starts.",
    ["task"],
    multiprocess_mode="max",
)


def job_started(task: str, interval: float) -> None:
    """Register ``task`` as running every ``interval`` seconds (its last success stays absent
    until the first good round)."""
    JOB_INTERVAL.labels(task).set(interval)


def job_succeeded(task: str, at: float | None = None) -> None:
    """Record a round of ``task`` that completed without error, at ``at`` (default: now)."""
    JOB_LAST_SUCCESS.labels(task).set(time.time() if at is None else at)
