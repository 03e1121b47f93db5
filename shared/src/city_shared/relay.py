"""The outbox relay: publishes committed outbox rows to Kafka in order, one active per service.

Contract:
- Only the process holding the PostgreSQL advisory lock ``outbox-relay:<service>`` publishes; the
  others wait as standbys and take over when the holder's connection goes away.
- Rows are published in ``id`` order with the idempotent producer (``acks=all``) and marked
  published only after Kafka acknowledged them; a failed batch is retried from its first row with
  bounded exponential backoff, so Kafka being down delays events but never loses them.
- The relay wakes on ``NOTIFY city_outbox`` (sent on commit) and polls as a fallback.
- Delivery is at least once: a crash between the Kafka ack and the ``UPDATE`` republishes the
  same event ids, which consumers drop through their inbox.
- PostgreSQL unreachable or restarting (any fault of :func:`city_shared.faults.is_transient`,
  or an error of the database itself) closes the connection, which releases the lock; the relay
  reconnects with backoff and competes for the lock again. It never dies of a fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from city_shared.backbone import OUTBOX_CHANNEL
from city_shared.envelope import stored_to_kafka
from city_shared.faults import Backoff, is_transient
from city_shared.kafka_client import Brokers, client_options
from city_shared.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISHED,
    RELAY_ACTIVE,
    TRANSIENT_FAULTS,
)

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("city_shared.relay")
_PROPAGATOR = TraceContextTextMapPropagator()
_MAX_LINKS = 128  # the SDK's default span limit

_FETCH = """
SELECT id, topic, key, attributes, data::text AS data FROM outbox
WHERE published_at IS NULL ORDER BY id LIMIT $1
"""
_MARK = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"
_BACKLOG = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
_BACKLOG_COUNT_INTERVAL = 5.0
DEFAULT_BATCH_SIZE = 1000
_PURGE = "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)"


def make_producer(kafka: Brokers, **overrides: Any) -> AIOKafkaProducer:
    """The producer every publisher of the platform uses: idempotent, ``acks=all``, ordered."""
    options: dict[str, Any] = {
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 10_000,
        "retry_backoff_ms": 200,
    }
    options.update(overrides)
    return AIOKafkaProducer(**client_options(kafka), **options)


@dataclass
class RelayConfig:
    """Tuning of one relay; defaults suit a service worker."""

    service: str
    dsn: str
    kafka: Brokers
    batch_size: int = DEFAULT_BATCH_SIZE
    poll_interval: float = 1.0
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    retention_seconds: float = 7 * 24 * 3600
    #: Only the negative-control test turns this off, to show that without the lock two relays
    #: publish the same rows twice and out of order.
    use_lock: bool = True


class OutboxRelay:
    """Publishes one service's outbox. Run :meth:`run` as a task; set ``stop`` to end it."""

    def __init__(
        self,
        config: RelayConfig,
        *,
        producer_factory: Callable[[], AIOKafkaProducer] | None = None,
        before_mark: Callable[[list[int]], Awaitable[None]] | None = None,
    ) -> None:
        self._config = config
        self._producer_factory = producer_factory or (
            lambda: make_producer(config.kafka)
        )
        self._before_mark = before_mark
        self._wakeup = asyncio.Event()
        self.is_leader = False
        #: Loop time of the relay's last sign of life, and the dependency it waits for, if any
        #: (the worker's liveness and readiness read them).
        self.last_beat = 0.0
        self.waiting_for: str | None = None

    def _beat(self) -> None:
        self.last_beat = asyncio.get_running_loop().time()

    async def run(self, stop: asyncio.Event) -> None:
        """Compete for the relay lock, then publish until ``stop`` is set. Raises only for an
        error that is no fault of the database or the broker (a bug)."""
        backoff = Backoff(self._config.backoff_initial, self._config.backoff_max)
        self._beat()
        while not stop.is_set():
            try:
                await self._lead(stop, backoff)
            except Exception as exc:
                if not (is_transient(exc) or isinstance(exc, asyncpg.PostgresError)):
                    raise
                self.waiting_for = "database"
                TRANSIENT_FAULTS.labels(self._config.service, "relay").inc()
                log.warning("outbox relay lost its database connection; reconnecting",
                            extra={"error": type(exc).__name__, "backoff_s": backoff.next})
                await backoff.wait(stop)
                self._beat()

    async def _lead(self, stop: asyncio.Event, backoff: Backoff) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self._config.dsn, timeout=10)
        self.waiting_for = None
        backoff.reset()
        try:
            lock_name = f"outbox-relay:{self._config.service}"
            while not stop.is_set() and self._config.use_lock:
                got = await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock_name)
                if got:
                    break
                self._beat()
                await _sleep_or_stop(stop, self._config.poll_interval)
            if stop.is_set():
                return
            self.is_leader = True
            RELAY_ACTIVE.labels(self._config.service).set(1)
            log.info("outbox relay is active")
            await conn.add_listener(OUTBOX_CHANNEL, self._on_notify)
            try:
                await self._publish_loop(conn, stop)
            finally:
                self.is_leader = False
                RELAY_ACTIVE.labels(self._config.service).set(0)
        finally:
            try:
                await conn.close(timeout=5)
            except Exception:  # a cut connection cannot close politely
                conn.terminate()

    def _on_notify(self, *_: object) -> None:
        self._wakeup.set()

    async def _publish_loop(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        producer: AIOKafkaProducer | None = None
        backoff = self._config.backoff_initial
        purge_every = 600
        rounds = 0
        backlog_counted_at = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                self._beat()
                self._wakeup.clear()
                rows = await conn.fetch(_FETCH, self._config.batch_size)
                if len(rows) < self._config.batch_size:
                    OUTBOX_BACKLOG.labels(self._config.service).set(len(rows))
                elif loop.time() - backlog_counted_at > _BACKLOG_COUNT_INTERVAL:
                    # Counting a large backlog is a scan: at most every few seconds.
                    backlog_counted_at = loop.time()
                    OUTBOX_BACKLOG.labels(self._config.service).set(await conn.fetchval(_BACKLOG))
                if not rows:
                    rounds += 1
                    if rounds % purge_every == 1:
                        await conn.execute(_PURGE, self._config.retention_seconds)
                    await _wait_any(stop, self._wakeup, self._config.poll_interval)
                    continue
                try:
                    if producer is None:
                        producer = self._producer_factory()
                        await producer.start()
                    await self._publish(producer, rows)
                except Exception as exc:
                    # Kafka unreachable or the producer fenced: start over from the first row
                    # with a fresh producer, so order is kept and nothing is skipped.
                    OUTBOX_PUBLISH_FAILURES.labels(self._config.service).inc()
                    self.waiting_for = "kafka"
                    log.warning(
                        "outbox publish failed; will retry",
                        extra={"error": type(exc).__name__, "backoff_s": backoff},
                    )
                    if producer is not None:
                        await _stop_quietly(producer)
                        producer = None
                    await _sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, self._config.backoff_max)
                    continue
                backoff = self._config.backoff_initial
                self.waiting_for = None
                ids = [row["id"] for row in rows]
                if self._before_mark is not None:
                    await self._before_mark(ids)
                await conn.execute(_MARK, ids)
        finally:
            if producer is not None:
                await _stop_quietly(producer)

    async def _publish(self, producer: AIOKafkaProducer, rows: list[asyncpg.Record]) -> None:
        """Send a batch and wait for every ack. One PRODUCER span per batch, linked to the trace
        of each event's request (OpenTelemetry's batch-publish convention; a span per record
        cost a third of the relay's CPU). The consumer continues each event's own trace."""
        futures = []
        links: list[Link] = []
        with _tracer.start_as_current_span(
            "outbox publish",
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka", "messaging.batch.message_count": len(rows)},
        ) as span:
            for row in rows:
                attributes = json.loads(row["attributes"])
                message = stored_to_kafka(attributes, row["data"])
                traceparent = attributes.get("traceparent")
                if traceparent and len(links) < _MAX_LINKS:
                    context = trace.get_current_span(
                        _PROPAGATOR.extract({"traceparent": traceparent})
                    ).get_span_context()
                    links.append(Link(context, {"messaging.message.id": attributes["id"]}))
                futures.append(
                    await producer.send(
                        row["topic"],
                        value=message.value,
                        key=row["key"].encode(),
                        headers=list(message.headers.items()),
                    )
                )
            for link in links:
                span.add_link(link.context, link.attributes)
        await asyncio.gather(*futures)
        for row in rows:
            OUTBOX_PUBLISHED.labels(self._config.service, row["topic"]).inc()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _wait_any(stop: asyncio.Event, wakeup: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), timeout=5)
    except Exception:  # the producer is discarded either way
        log.debug("producer did not stop cleanly", exc_info=True)
