"""Prometheus collectors of the backbone, and the exposition every ``/metrics`` answers.

Labels carry only service, topic, event type and outcome: never ids or personal data.

One process (the default): the collectors live in this process's registry and
:func:`exposition` is ``generate_latest()``. Several API processes
(``CITY_HTTP_WORKERS`` > 1, :mod:`city_shared.serve`): prometheus_client's multiprocess mode,
chosen by ``PROMETHEUS_MULTIPROC_DIR`` in the environment before ``prometheus_client`` is
imported. Every process then writes its values to files in that directory, and whichever
process answers a scrape reports the whole API: counters and histograms summed over all
processes (also those that exited), each gauge as its ``multiprocess_mode`` says (``livesum``:
the sum over the processes still running). A gauge without a mode would be exported once per
process with a ``pid`` label. The per-process collectors (``process_*``, ``python_gc_*``) are
not exported in that mode.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

#: The variable that switches prometheus_client to multiprocess mode (its own name).
MULTIPROC_DIR_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"

#: A live gauge's file of one process: ``gauge_livesum_<pid>.db`` (prometheus_client's naming).
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(?P<pid>[0-9]+)\.db")

HTTP_REQUEST_SECONDS = Histogram(
    "city_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge(
    "city_outbox_backlog", "Outbox rows not yet published to Kafka.", ["service"],
    multiprocess_mode="mostrecent",
)
OUTBOX_PUBLISHED = Counter(
    "city_outbox_published_total", "Outbox rows published to Kafka.", ["service", "topic"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "city_outbox_publish_failures_total", "Failed publish attempts of an outbox batch.", ["service"]
)
RELAY_ACTIVE = Gauge(
    "city_outbox_relay_active", "1 while this process holds the relay lock.", ["service"],
    multiprocess_mode="livesum",
)
CONSUMER_LAG = Gauge(
    "city_consumer_lag", "Records behind the partition's end.", ["group", "topic", "partition"],
    multiprocess_mode="livemostrecent",
)
EVENTS_HANDLED = Counter(
    "city_events_handled_total",
    "Consumed records by outcome (handled, duplicate, ignored, dead_lettered).",
    ["group", "type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "city_event_handler_duration_seconds", "Time of the inbox claim and the handler, per record.",
    ["group", "type"],
)
DEAD_LETTERS = Counter(
    "city_dead_letters_total", "Records sent to the dead-letter topic.", ["group", "reason"]
)
TRANSIENT_FAULTS = Counter(
    "city_transient_faults_total",
    "Infrastructure faults (database or broker unreachable, restarting) waited out, by component.",
    ["service", "component"],
)
CONSUMER_REBALANCES = Counter(
    "city_consumer_rebalances_total", "Partitions revoked from this consumer.", ["group"]
)
CONSUMER_COMMIT_FAILURES = Counter(
    "city_consumer_commit_failures_total",
    "Offset commits refused (the partition moved on a rebalance; its new owner re-reads).",
    ["group"],
)
CONSUMER_ASSIGNED_PARTITIONS = Gauge(
    "city_consumer_assigned_partitions", "Partitions this consumer owns right now.", ["group"],
    multiprocess_mode="livesum",
)
WORKER_TASK_RESTARTS = Counter(
    "city_worker_task_restarts_total",
    "Worker tasks (consumer, relay, jobs) restarted after a failure, by task.",
    ["service", "task"],
)


def multiprocess_dir() -> Path | None:
    """The directory the API's processes share their values in, or None (one process)."""
    path = os.environ.get(MULTIPROC_DIR_VARIABLE)
    return Path(path) if path else None


def exposition() -> bytes:
    """The Prometheus text ``/metrics`` answers: this process's registry, or in multiprocess
    mode every API process's values merged (the live gauges of processes that are gone
    dropped first, see :func:`forget_dead_processes`)."""
    path = multiprocess_dir()
    if path is None:
        return generate_latest()
    forget_dead_processes(path)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(path))  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def forget_dead_processes(path: Path) -> list[int]:
    """Drop the live gauges (``live*`` modes) of every process that no longer runs, so that a
    killed worker's requests in flight stop counting; returns their pids. A process that exits
    normally drops its own (:func:`city_shared.serve.worker_app`)."""
    pids = set()
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(path):
            match = _LIVE_GAUGE_FILE.fullmatch(entry.name)
            if match is not None:
                pids.add(int(match["pid"]))
    dead = sorted(pid for pid in pids if not process_running(pid))
    for pid in dead:
        with contextlib.suppress(FileNotFoundError):  # another process dropped it just now
            mark_process_dead(pid, path)
    return dead


def process_running(pid: int) -> bool:
    """Whether ``pid`` names a running process of this machine (a zombie has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def mark_process_dead(pid: int, path: Path) -> None:
    """prometheus_client's bookkeeping for a process that is gone: its live gauges go."""
    multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]
