"""Prometheus collectors of the backbone, one registry per process.

Labels carry only service, topic, event type and outcome: never ids or personal data.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUEST_SECONDS = Histogram(
    "city_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge(
    "city_outbox_backlog", "Outbox rows not yet published to Kafka.", ["service"]
)
OUTBOX_PUBLISHED = Counter(
    "city_outbox_published_total", "Outbox rows published to Kafka.", ["service", "topic"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "city_outbox_publish_failures_total", "Failed publish attempts of an outbox batch.", ["service"]
)
RELAY_ACTIVE = Gauge(
    "city_outbox_relay_active", "1 while this process holds the relay lock.", ["service"]
)
CONSUMER_LAG = Gauge(
    "city_consumer_lag", "Records behind the partition's end.", ["group", "topic", "partition"]
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
    "city_consumer_assigned_partitions", "Partitions this consumer owns right now.", ["group"]
)
WORKER_TASK_RESTARTS = Counter(
    "city_worker_task_restarts_total",
    "Worker tasks (consumer, relay, jobs) restarted after a failure, by task.",
    ["service", "task"],
)
