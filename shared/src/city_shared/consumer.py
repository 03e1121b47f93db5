"""The shared consumer: subscribes handlers by event type, exactly-once effects via the inbox.

Contract for every record:
1. A record that is not a valid platform event, or has an unknown type on a topic this service
   owns (a command topic), goes to the dead-letter topic.
2. Otherwise one database transaction holds: the inbox row ``(group, event id)``, the handler's
   writes and any outbox rows it adds. If the inbox row already exists, the handler is skipped
   (a redelivered event changes nothing the second time).
3. The Kafka offset is committed only after that transaction committed.
4. A failing handler is retried with bounded exponential backoff (the partition waits, so order
   is kept); after ``max_attempts``, or at once for a :class:`PermanentFailure` or a data
   validation error, the record goes to the dead-letter topic with the error in headers and
   consumption continues. Nothing is acked and dropped.
Well-formed events of types nobody here handles, on topics owned by others, are skipped: a
tolerant reader ignores what it does not need.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.context import set_correlation_id, set_event_id
from city_shared.deadletters import DeadLetterPublisher
from city_shared.envelope import Event, MalformedEvent, from_kafka
from city_shared.metrics import CONSUMER_LAG, EVENTS_HANDLED, HANDLER_SECONDS

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("city_shared.consumer")
_PROPAGATOR = TraceContextTextMapPropagator()

Handler = Callable[[AsyncSession, Event], Awaitable[None]]

_CLAIM = text(
    "INSERT INTO inbox (consumer_group, event_id, event_type) VALUES (:group, :id, :type) "
    "ON CONFLICT DO NOTHING RETURNING 1"
)


class PermanentFailure(Exception):
    """Raised by a handler for an event it can never process: dead-lettered without retries."""


@dataclass(frozen=True)
class Subscription:
    """One handler for one event type on one topic."""

    topic: str
    event_type: str
    handler: Handler


@dataclass
class ConsumerConfig:
    """Tuning and identity of one consumer group."""

    group_id: str
    bootstrap_servers: str
    dead_letter_topic: str
    owned_topics: frozenset[str] = frozenset()
    max_attempts: int = 5
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    max_records: int = 100
    extra: dict[str, object] = field(default_factory=dict)


class Consumer:
    """Runs the subscriptions of one service. Run :meth:`run` as a task; set ``stop`` to end it.

    ``after_db_commit`` is a test seam called after the transaction committed and before the
    offset commit (used to prove a crash there causes no double effect).
    """

    def __init__(
        self,
        config: ConsumerConfig,
        session_factory: async_sessionmaker[AsyncSession],
        subscriptions: Sequence[Subscription],
        *,
        dead_letters: DeadLetterPublisher,
        after_db_commit: Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]] | None = None,
    ) -> None:
        self._config = config
        self._sessions = session_factory
        self._handlers: dict[tuple[str, str], Handler] = {}
        for sub in subscriptions:
            if (sub.topic, sub.event_type) in self._handlers:
                raise ValueError(f"two handlers for {sub.event_type} on {sub.topic}")
            self._handlers[(sub.topic, sub.event_type)] = sub.handler
        self._topics = sorted({sub.topic for sub in subscriptions} | set(config.owned_topics))
        self._dead_letters = dead_letters
        self._after_db_commit = after_db_commit
        self.ready = asyncio.Event()

    @property
    def topics(self) -> list[str]:
        """The topics this consumer reads."""
        return list(self._topics)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; commits offsets only after database commits."""
        consumer = AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._config.bootstrap_servers,
            group_id=self._config.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_interval_ms=600_000,
            **self._config.extra,
        )
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(
                    timeout_ms=500, max_records=self._config.max_records
                )
                if consumer.assignment():
                    self.ready.set()
                for tp, records in batches.items():
                    await self._process_partition(consumer, tp, records, stop)
        finally:
            await consumer.stop()

    async def _process_partition(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: Iterable[ConsumerRecord[bytes, bytes]],
        stop: asyncio.Event,
    ) -> None:
        last_offset: int | None = None
        for record in records:
            if stop.is_set():
                break
            await self._process(record)
            last_offset = record.offset
        if last_offset is None:
            return
        try:
            await consumer.commit({tp: last_offset + 1})
        except (CommitFailedError, KafkaError) as exc:
            # A rebalance took the partition away; its new owner re-reads and the inbox dedupes.
            log.warning("offset commit failed", extra={"error": type(exc).__name__})
        highwater = consumer.highwater(tp)
        if highwater is not None:
            CONSUMER_LAG.labels(self._config.group_id, tp.topic, str(tp.partition)).set(
                max(highwater - last_offset - 1, 0)
            )

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        group = self._config.group_id
        try:
            event = from_kafka(list(record.headers or ()), record.key, record.value)
        except MalformedEvent as exc:
            await self._dead_letter(record, exc, attempts=1, reason="malformed")
            EVENTS_HANDLED.labels(group, "unknown", "dead_lettered").inc()
            return
        handler = self._handlers.get((record.topic, event.type))
        if handler is None:
            if record.topic in self._config.owned_topics:
                await self._dead_letter(
                    record, MalformedEvent(f"no handler for {event.type}"), 1, "unknown_type"
                )
                EVENTS_HANDLED.labels(group, event.type, "dead_lettered").inc()
            else:
                EVENTS_HANDLED.labels(group, event.type, "ignored").inc()
            return
        await self._handle_with_retries(record, event, handler)

    async def _handle_with_retries(
        self, record: ConsumerRecord[bytes, bytes], event: Event, handler: Handler
    ) -> None:
        group = self._config.group_id
        backoff = self._config.backoff_initial
        parent = _PROPAGATOR.extract({"traceparent": event.traceparent or ""})
        token = otel_context.attach(parent)
        set_correlation_id(event.correlationid)
        set_event_id(str(event.id))
        try:
            for attempt in range(1, self._config.max_attempts + 1):
                started = time.perf_counter()
                try:
                    outcome = await self._handle_once(record, event, handler)
                except (PermanentFailure, ValidationError) as exc:
                    await self._dead_letter(record, exc, attempt, "rejected")
                    EVENTS_HANDLED.labels(group, event.type, "dead_lettered").inc()
                    return
                except Exception as exc:
                    log.warning(
                        "event handler failed",
                        extra={"event_type": event.type, "attempt": attempt,
                               "error": type(exc).__name__},
                    )
                    if attempt == self._config.max_attempts:
                        await self._dead_letter(record, exc, attempt, "handler_failed")
                        EVENTS_HANDLED.labels(group, event.type, "dead_lettered").inc()
                        return
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._config.backoff_max)
                    continue
                HANDLER_SECONDS.labels(group, event.type).observe(time.perf_counter() - started)
                EVENTS_HANDLED.labels(group, event.type, outcome).inc()
                if self._after_db_commit is not None:
                    await self._after_db_commit(record)
                return
        finally:
            set_event_id(None)
            otel_context.detach(token)

    async def _handle_once(
        self, record: ConsumerRecord[bytes, bytes], event: Event, handler: Handler
    ) -> str:
        with _tracer.start_as_current_span(
            f"{record.topic} process",
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.consumer.group.name": self._config.group_id,
                "messaging.message.id": str(event.id),
                "cloudevents.event_type": event.type,
            },
        ):
            async with self._sessions() as session, session.begin():
                claimed = await session.execute(
                    _CLAIM, {"group": self._config.group_id, "id": event.id, "type": event.type}
                )
                if claimed.first() is None:
                    return "duplicate"
                await handler(session, event)
            return "handled"

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: BaseException, attempts: int,
        reason: str,
    ) -> None:
        await self._dead_letters.publish(
            record, group=self._config.group_id, error=error, attempts=attempts, reason=reason
        )
