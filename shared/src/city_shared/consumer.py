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
For throughput, the records of one poll share one transaction per partition, optimistically:
one statement claims all their inbox rows, the handlers run one after the other without
savepoints, and one commit ends it. When a handler fails, the whole transaction is rolled back
(it left nothing behind), the records before the failing one are handled again in a new
transaction and committed, and the failing one is retried alone; so the guarantees above hold
per record. Partitions are processed concurrently. Well-formed events of types nobody here
handles, on topics owned by others, are skipped: a tolerant reader ignores what it does not
need; so is an event its subscription's ``accepts`` filter turns down (decided in memory, before
any transaction: no inbox row, no statement; its offset is committed like any other).

Faults (see :mod:`city_shared.faults`): a handler or transaction failing because PostgreSQL or
Kafka is unreachable or restarting is retried with capped backoff for as long as it takes, never
counted as an attempt and never dead-lettered. A rebalance that revokes partitions mid-poll lets
the records in hand finish (or abandons a record still waiting out a fault), commits what is
done while the partitions are still owned, and the new owner re-reads the rest (the inbox
dedupes). The Kafka client itself failing (broker gone, coordinator lost) restarts the client
with backoff; only an error that is no fault of the infrastructure stops :meth:`Consumer.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.context import set_correlation_id, set_event_id
from city_shared.deadletters import DeadLetterPublisher
from city_shared.envelope import Event, MalformedEvent, from_kafka
from city_shared.faults import Backoff, is_transient
from city_shared.kafka_client import Brokers, client_options
from city_shared.metrics import (
    CONSUMER_ASSIGNED_PARTITIONS,
    CONSUMER_COMMIT_FAILURES,
    CONSUMER_LAG,
    CONSUMER_REBALANCES,
    EVENTS_HANDLED,
    HANDLER_SECONDS,
    TRANSIENT_FAULTS,
)
from city_shared.topics import wait_for_topics
from city_shared.unit_of_work import unit_of_work

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("city_shared.consumer")
_PROPAGATOR = TraceContextTextMapPropagator()

Handler = Callable[[AsyncSession, Event], Awaitable[None]]
#: A subscription's in-memory filter: False means the event is skipped before any transaction.
Accepts = Callable[[Event], bool]

_CLAIM = text(
    "INSERT INTO inbox (consumer_group, event_id, event_type) VALUES (:group, :id, :type) "
    "ON CONFLICT DO NOTHING RETURNING 1"
)
#: The inbox rows of a whole batch in one statement; returns the ids claimed now (an id already
#: there, or twice in the batch, is returned at most once).
_CLAIM_MANY = text(
    "INSERT INTO inbox (consumer_group, event_id, event_type) "
    "SELECT :group, e.id, e.type FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[])) "
    "AS e(id, type) ON CONFLICT DO NOTHING RETURNING event_id"
)


def only_where(model: type[BaseModel], field: str, value: object) -> Accepts:
    """A subscription's ``accepts`` filter that turns down exactly the events a handler reading
    the data as ``model`` would skip because ``field`` is not ``value`` (e.g. another service's
    payment answer on a shared topic). Data that does not validate passes, so the handler still
    refuses it and it reaches the dead-letter topic."""

    def accepts(event: Event) -> bool:
        if event.data.get(field) == value:
            return True
        try:
            return bool(getattr(event.parse(model), field) == value)
        except ValidationError:
            return True

    return accepts


def _accepted(accepts: Accepts, event: Event) -> bool:
    """What a subscription's filter says; a filter that fails lets the event through (the
    handler decides, and its failure is retried and dead-lettered as usual): a bug in one
    service's filter never stops its consumer or drops events unseen."""
    try:
        return accepts(event)
    except Exception as exc:
        log.warning("a subscription's accepts filter failed; the handler decides",
                    extra={"event_type": event.type, "error": type(exc).__name__})
        return True


class PermanentFailure(Exception):
    """Raised by a handler for an event it can never process: dead-lettered without retries."""


#: A subscription's event type that stands for every type on its topic without a handler of
#: its own (e.g. notification, whose rules, kept as data, decide which types matter).
ANY_TYPE: Final = "*"


@dataclass(frozen=True)
class Subscription:
    """One handler for one event type (or :data:`ANY_TYPE`) on one topic.

    ``accepts``, if given, is asked first, in memory, for every event the subscription would
    handle: an event it turns down is skipped like one nobody handles (no transaction, no inbox
    row, the offset is committed). It must be cheap and must never turn down an event the
    handler would act on (a superset test is fine: the handler still decides).
    """

    topic: str
    event_type: str
    handler: Handler
    accepts: Accepts | None = None


class Routes:
    """Which handler handles an event: its exact (topic, type) subscription, else the topic's
    :data:`ANY_TYPE` subscription, else none."""

    def __init__(self, subscriptions: Iterable[Subscription]) -> None:
        self._subscriptions: dict[tuple[str, str], Subscription] = {}
        for sub in subscriptions:
            if (sub.topic, sub.event_type) in self._subscriptions:
                raise ValueError(f"two handlers for {sub.event_type} on {sub.topic}")
            self._subscriptions[(sub.topic, sub.event_type)] = sub
        self.topics = frozenset(topic for topic, _ in self._subscriptions)

    def subscription_for(self, topic: str, event_type: str) -> Subscription | None:
        """The subscription an event goes to, if any."""
        return self._subscriptions.get((topic, event_type)) or self._subscriptions.get(
            (topic, ANY_TYPE))

    def handler_for(self, topic: str, event_type: str) -> Handler | None:
        sub = self.subscription_for(topic, event_type)
        return sub.handler if sub is not None else None


@dataclass(frozen=True)
class _Work:
    """A parsed record with the handler it goes to."""

    record: ConsumerRecord[bytes, bytes]
    event: Event
    handler: Handler


@dataclass
class ConsumerConfig:
    """Tuning and identity of one consumer group."""

    group_id: str
    kafka: Brokers
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

    Health, for the worker's probes: :attr:`ready` is set while partitions are assigned,
    :attr:`last_beat` is the loop time of the consumer's last sign of life (a poll, a record, a
    backoff step) and :attr:`waiting_for` names the dependency it is waiting out, if any.
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
        self._routes = Routes(subscriptions)
        self._topics = sorted(self._routes.topics | set(config.owned_topics))
        self._dead_letters = dead_letters
        self._after_db_commit = after_db_commit
        self.ready = asyncio.Event()
        self.last_beat = 0.0
        self.waiting_for: str | None = None
        self._inflight: asyncio.Task[None] | None = None
        self._abandon = asyncio.Event()

    @property
    def topics(self) -> list[str]:
        """The topics this consumer reads."""
        return list(self._topics)

    def _beat(self) -> None:
        self.last_beat = asyncio.get_running_loop().time()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; commits offsets only after database commits. Starts
        once every subscribed topic exists (other services' workers create theirs). A Kafka
        client that fails (broker down, coordinator moved) is replaced after a backoff.

        The partitions of one poll are processed concurrently (order only matters within a
        partition); their offsets are committed together once all of them are done.
        """
        self._beat()
        backoff = Backoff(self._config.backoff_initial, self._config.backoff_max)
        while not stop.is_set():
            try:
                if not await wait_for_topics(self._config.kafka, self._topics, stop):
                    return
                await self._consume(stop, backoff)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self.ready.clear()
                self.waiting_for = "kafka"
                TRANSIENT_FAULTS.labels(self._config.group_id, "consumer").inc()
                log.warning("consumer lost the broker; reconnecting",
                            extra={"error": type(exc).__name__, "backoff_s": backoff.next})
                await backoff.wait(stop)
                self._beat()

    async def _consume(self, stop: asyncio.Event, backoff: Backoff) -> None:
        consumer = AIOKafkaConsumer(
            **client_options(self._config.kafka),
            group_id=self._config.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_interval_ms=600_000,
            **self._config.extra,
        )
        consumer.subscribe(self._topics, listener=_Rebalances(self, consumer))
        try:
            await consumer.start()
            while not stop.is_set():
                batches = await consumer.getmany(
                    timeout_ms=500, max_records=self._config.max_records
                )
                self._beat()
                if consumer.assignment():
                    self.ready.set()
                    self.waiting_for = None
                    backoff.reset()
                if batches:
                    self._abandon = asyncio.Event()
                    self._inflight = asyncio.create_task(
                        self._process_poll(consumer, batches, stop)
                    )
                    try:
                        await asyncio.shield(self._inflight)
                    finally:
                        self._inflight = None
        finally:
            self.ready.clear()
            CONSUMER_ASSIGNED_PARTITIONS.labels(self._config.group_id).set(0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), timeout=10)

    async def on_revoked(self, consumer: AIOKafkaConsumer) -> None:
        """Partitions are being taken away: let the poll in hand finish what it is doing (a
        record waiting out a fault is abandoned) and commit it while this consumer still owns
        the partitions. Called by the Kafka client before it rejoins the group."""
        self.ready.clear()
        CONSUMER_REBALANCES.labels(self._config.group_id).inc()
        inflight = self._inflight
        if inflight is not None:
            self._abandon.set()
            await asyncio.wait([inflight])

    async def _process_poll(
        self,
        consumer: AIOKafkaConsumer,
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
        stop: asyncio.Event,
    ) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                tasks = {
                    tp: group.create_task(self._process_partition(records, stop))
                    for tp, records in batches.items()
                }
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None  # nothing of this poll was committed
        owned = consumer.assignment()
        offsets = {tp: task.result() + 1 for tp, task in tasks.items()
                   if task.result() >= 0 and tp in owned}
        for tp, records in batches.items():
            done = tasks[tp].result()
            if tp in owned and done < records[-1].offset and not stop.is_set():
                # Records left undone while the partition stays ours are read again.
                consumer.seek(tp, done + 1 if done >= 0 else records[0].offset)
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            # A rebalance took the partition away; its new owner re-reads and the inbox dedupes.
            CONSUMER_COMMIT_FAILURES.labels(self._config.group_id).inc()
            log.warning("offset commit failed", extra={"error": type(exc).__name__})
            return
        owned = consumer.assignment()
        for tp, next_offset in offsets.items():
            highwater = consumer.highwater(tp) if tp in owned else None
            if highwater is not None:
                CONSUMER_LAG.labels(self._config.group_id, tp.topic, str(tp.partition)).set(
                    max(highwater - next_offset, 0)
                )

    async def _process_partition(
        self, records: Sequence[ConsumerRecord[bytes, bytes]], stop: asyncio.Event
    ) -> int:
        """Process one partition's records in order; returns the offset up to which every
        record is done (handled, duplicate, ignored or dead-lettered), or -1 for none."""
        work: list[_Work] = []
        classified: list[ConsumerRecord[bytes, bytes]] = []
        for record in records:
            if stop.is_set() or self._abandon.is_set():
                break
            item = await self._classify(record)
            if item is not None:
                work.append(item)
            classified.append(record)
        if not classified:
            return -1
        finished = await self._handle_in_batches(work, stop)
        if finished == len(work):
            return int(classified[-1].offset)
        return int(work[finished].record.offset) - 1

    async def _classify(self, record: ConsumerRecord[bytes, bytes]) -> _Work | None:
        """Parse a record; dead-letter or skip it (None) or return the work to do."""
        group = self._config.group_id
        try:
            event = from_kafka(list(record.headers or ()), record.key, record.value)
        except MalformedEvent as exc:
            await self._dead_letter(record, exc, attempts=1, reason="malformed")
            EVENTS_HANDLED.labels(group, "unknown", "dead_lettered").inc()
            return None
        sub = self._routes.subscription_for(record.topic, event.type)
        if sub is not None and sub.accepts is not None and not _accepted(sub.accepts, event):
            EVENTS_HANDLED.labels(group, event.type, "ignored").inc()
            return None
        if sub is None:
            if record.topic in self._config.owned_topics:
                await self._dead_letter(
                    record, MalformedEvent(f"no handler for {event.type}"), 1, "unknown_type"
                )
                EVENTS_HANDLED.labels(group, event.type, "dead_lettered").inc()
            else:
                EVENTS_HANDLED.labels(group, event.type, "ignored").inc()
            return None
        return _Work(record, event, sub.handler)

    async def _handle_in_batches(self, work: Sequence[_Work], stop: asyncio.Event) -> int:
        """Handle ``work`` in order, many records per transaction; returns how many records are
        done (fewer only when stopped or revoked meanwhile).

        A batch runs optimistically, without savepoints. When a record's handler fails, the
        whole transaction is rolled back; the records before it are handled again in a new
        batch and committed, then it is retried alone (:meth:`_retry`), and batching resumes
        after it. A transaction that cannot begin or commit because of a fault is retried whole.
        """
        start = 0
        failed: tuple[int, Exception] | None = None  # a record that failed in a batch
        faults = self._fault_backoff()
        while start < len(work):
            if failed is not None and failed[0] == start:
                if not await self._retry(work[start], failed[1], stop):
                    return start
                start, failed = start + 1, None
                continue
            end = failed[0] if failed is not None else len(work)
            try:
                done = await self._handle_batch(work[start:end])
            except _BatchFailed as batch_failed:
                # Rolled back whole: replay the records before it, then retry it alone.
                failed = (start + batch_failed.index, batch_failed.error)
                continue
            except Exception as exc:
                if not is_transient(exc):
                    failed = (start, exc)
                    continue
                if await self._wait_out(exc, faults, stop):
                    return start
                continue
            self._beat()
            await self._after_commit(done)
            start = end
        return start

    async def _handle_batch(self, work: Sequence[_Work]) -> list[tuple[_Work, str]]:
        """Claim the inbox rows of ``work`` in one statement and run the handlers of the
        claimed ones in one transaction. Raises :class:`_BatchFailed` (after the rollback)
        when a handler fails."""
        done: list[tuple[_Work, str]] = []
        async with unit_of_work(self._sessions) as session:
            claimed = await self._claim_many(session, work)
            for index, item in enumerate(work):
                if item.event.id in claimed:
                    claimed.discard(item.event.id)  # the same id twice: the second is a duplicate
                    try:
                        await self._apply(session, item, claimed=True)
                    except Exception as exc:
                        raise _BatchFailed(index, exc) from exc
                    done.append((item, "handled"))
                else:
                    done.append((item, "duplicate"))
        return done

    async def _claim_many(self, session: AsyncSession, work: Sequence[_Work]) -> set[object]:
        if len(work) == 1:
            item = work[0]
            claimed = await session.execute(_CLAIM, {
                "group": self._config.group_id, "id": item.event.id, "type": item.event.type})
            return {item.event.id} if claimed.first() is not None else set()
        rows = await session.execute(_CLAIM_MANY, {
            "group": self._config.group_id,
            "ids": [item.event.id for item in work],
            "types": [item.event.type for item in work],
        })
        return {row[0] for row in rows}

    async def _after_commit(self, done: Sequence[tuple[_Work, str]]) -> None:
        for item, outcome in done:
            EVENTS_HANDLED.labels(self._config.group_id, item.event.type, outcome).inc()
            if self._after_db_commit is not None:
                await self._after_db_commit(item.record)

    def _fault_backoff(self) -> Backoff:
        return Backoff(self._config.backoff_initial, self._config.backoff_max)

    async def _wait_out(self, error: BaseException, backoff: Backoff, stop: asyncio.Event) -> bool:
        """Wait before retrying after a transient fault; True if the work is to be abandoned
        (stopping, or the partition is being revoked)."""
        self.waiting_for = "database"
        TRANSIENT_FAULTS.labels(self._config.group_id, "consumer").inc()
        log.warning("infrastructure fault while handling events; waiting",
                    extra={"error": type(error).__name__, "backoff_s": backoff.next})
        abandon = await backoff.wait(stop, self._abandon)
        self._beat()
        return abandon

    async def _retry(self, item: _Work, first_error: Exception, stop: asyncio.Event) -> bool:
        """Handle one record alone after its first failure; False if it was abandoned.

        A transient fault is waited out as long as it lasts (it is no attempt). Data validation
        errors and :class:`PermanentFailure` go to the dead letters at once; other errors after
        ``max_attempts`` with bounded backoff.
        """
        group, event = self._config.group_id, item.event
        error: Exception | None = first_error
        attempts = 0
        backoff, faults = self._fault_backoff(), self._fault_backoff()
        while True:
            if error is None:
                try:
                    async with unit_of_work(self._sessions) as session:
                        outcome = await self._apply(session, item, claimed=False)
                except Exception as exc:
                    error = exc
                else:
                    self.waiting_for = None
                    await self._after_commit([(item, outcome)])
                    return True
            if is_transient(error):
                if await self._wait_out(error, faults, stop):
                    return False
                error = None
                continue
            attempts += 1
            if isinstance(error, PermanentFailure | ValidationError):
                await self._dead_letter(item.record, error, attempts, "rejected")
                EVENTS_HANDLED.labels(group, event.type, "dead_lettered").inc()
                return True
            log.warning(
                "event handler failed",
                extra={"event_type": event.type, "attempt": attempts,
                       "error": type(error).__name__},
            )
            if attempts >= self._config.max_attempts:
                await self._dead_letter(item.record, error, attempts, "handler_failed")
                EVENTS_HANDLED.labels(group, event.type, "dead_lettered").inc()
                return True
            if await backoff.wait(stop, self._abandon):
                return False
            self._beat()
            error = None

    async def _apply(self, session: AsyncSession, item: _Work, *, claimed: bool) -> str:
        """Claim the inbox row (unless the caller ``claimed`` it already) and run the handler,
        in the caller's transaction, inside a span that continues the event's trace. Returns
        ``handled`` or ``duplicate``."""
        record, event = item.record, item.event
        parent = _PROPAGATOR.extract({"traceparent": event.traceparent or ""})
        token = otel_context.attach(parent)
        set_correlation_id(event.correlationid)
        set_event_id(str(event.id))
        started = time.perf_counter()
        try:
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
                if not claimed:
                    claim = await session.execute(
                        _CLAIM, {"group": self._config.group_id, "id": event.id,
                                 "type": event.type}
                    )
                    if claim.first() is None:
                        return "duplicate"
                await item.handler(session, event)
                return "handled"
        finally:
            HANDLER_SECONDS.labels(self._config.group_id, event.type).observe(
                time.perf_counter() - started
            )
            set_event_id(None)
            otel_context.detach(token)

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: BaseException, attempts: int,
        reason: str,
    ) -> None:
        await self._dead_letters.publish(
            record, group=self._config.group_id, error=error, attempts=attempts, reason=reason
        )


class _BatchFailed(Exception):
    """A handler of a batch failed: ``index`` in the batch, its ``error``."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


class _Rebalances(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells the :class:`Consumer` when partitions move."""

    def __init__(self, owner: Consumer, consumer: AIOKafkaConsumer) -> None:
        self._owner = owner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if revoked:
            await self._owner.on_revoked(self._consumer)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        CONSUMER_ASSIGNED_PARTITIONS.labels(self._owner._config.group_id).set(len(assigned))
