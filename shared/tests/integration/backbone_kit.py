"""Helpers for the backbone integration tests: a migrated database, topics, relays, consumers,
and for the fault tests: a steady outbox feed, running tasks that must stay alive, and a tally of
how often each event's effect was applied."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from city_shared import outbox
from city_shared.backbone import create_backbone
from city_shared.consumer import Consumer, ConsumerConfig, Subscription
from city_shared.db import asyncpg_dsn, create_engine, create_session_factory
from city_shared.deadletters import DeadLetterPublisher, read_all
from city_shared.envelope import Event, new_event, to_kafka
from city_shared.relay import OutboxRelay, RelayConfig
from city_shared.topics import TopicSpec, ensure_topics

EFFECTS_DDL = """
CREATE TABLE effects (
    id bigserial PRIMARY KEY,
    event_id uuid NOT NULL,
    seq int NOT NULL
)
"""


class Seq(BaseModel):
    """Test payload: a sequence number within one aggregate."""

    seq: int


@dataclass
class Db:
    """A migrated test database."""

    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def dsn(self) -> str:
        return asyncpg_dsn(self.url)

    async def scalar(self, sql: str) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())


async def migrated_db(url: str) -> Db:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(create_backbone)
        await conn.execute(text(EFFECTS_DDL))
    return Db(url, engine, create_session_factory(engine))


def seq_event(aggregate: str, seq: int, *, tenant: str = "musterstadt") -> Event:
    return new_event(
        type="city.test.thing.happened.v1", source="/test", subject=aggregate, tenant=tenant,
        data=Seq(seq=seq),
    )


async def new_topic(bootstrap: str, partitions: int = 3) -> str:
    name = f"test.{uuid.uuid4().hex[:12]}"
    await ensure_topics(bootstrap, [TopicSpec(name, partitions=partitions)])
    return name


async def read_records(
    bootstrap: str, topic: str, *, at_least: int, timeout: float = 30.0, settle: float = 0.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topic`` from the beginning until ``at_least`` records arrived (then ``settle`` more
    seconds to catch extras) or ``timeout`` passed. Commits nothing."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False,
        auto_offset_reset="earliest", isolation_level="read_committed",
    )
    await consumer.start()
    try:
        records: list[ConsumerRecord[bytes, bytes]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        settle_until: float | None = None
        while loop.time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            if len(records) >= at_least:
                if settle_until is None:
                    settle_until = loop.time() + settle
                if loop.time() >= settle_until:
                    break
        return records
    finally:
        await consumer.stop()


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode()
    return None


@asynccontextmanager
async def running_relay(
    db: Db, bootstrap: str, *, service: str = "test", batch_size: int = 100,
    use_lock: bool = True,
) -> AsyncIterator[OutboxRelay]:
    stop = asyncio.Event()
    relay = OutboxRelay(
        RelayConfig(service=service, dsn=db.dsn, kafka=bootstrap,
                    batch_size=batch_size, poll_interval=0.2, backoff_max=1.0,
                    use_lock=use_lock)
    )
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


def make_consumer(
    db: Db, bootstrap: str, topic: str, dlq: str, handler: Callable[[AsyncSession, Event],
    Awaitable[None]], *, group: str, max_attempts: int = 3,
    after_db_commit: Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]] | None = None,
    owned: bool = False, extra: dict[str, object] | None = None,
) -> tuple[Consumer, DeadLetterPublisher]:
    dead_letters = DeadLetterPublisher(dlq, bootstrap)
    consumer = Consumer(
        ConsumerConfig(group_id=group, kafka=bootstrap, dead_letter_topic=dlq,
                       owned_topics=frozenset({topic}) if owned else frozenset(),
                       max_attempts=max_attempts, backoff_initial=0.05, backoff_max=0.2,
                       extra=dict(extra or {})),
        db.sessions,
        [Subscription(topic, "city.test.thing.happened.v1", handler)],
        dead_letters=dead_letters,
        after_db_commit=after_db_commit,
    )
    return consumer, dead_letters


async def produce_raw(
    bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None,
                                                     list[tuple[str, bytes]]]],
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


# -- fault tests ------------------------------------------------------------------------------

#: Kafka client settings that make group membership changes quick to notice in a test.
QUICK_GROUP: dict[str, object] = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 300}


async def apply_effect(session: AsyncSession, event: Event) -> None:
    """The handler's visible effect, in the consumer's transaction: one ``effects`` row per
    application (no UNIQUE constraint, so applying an event twice leaves two rows)."""
    await session.execute(
        text("INSERT INTO effects (event_id, seq) VALUES (:id, :seq)"),
        {"id": event.id, "seq": event.parse(Seq).seq},
    )


async def apply_effect_apart(engine: AsyncEngine, event: Event) -> None:
    """The same effect committed in a transaction of its own, outside the inbox claim's (the
    bug the negative controls reproduce: the effect survives a rollback of the claim)."""
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO effects (event_id, seq) VALUES (:id, :seq)"),
            {"id": event.id, "seq": event.parse(Seq).seq},
        )


async def drop_inbox_uniqueness(db: Db) -> None:
    """Negative controls only: the inbox claim no longer conflicts, so it dedupes nothing."""
    async with db.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE inbox DROP CONSTRAINT inbox_pkey"))


@dataclass(frozen=True)
class Tally:
    """How the effects came out: events with an effect, effect rows, events applied twice+."""

    events: int
    applications: int
    doubled: int


async def tally(db: Db) -> Tally:
    async with db.engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT count(DISTINCT event_id), count(*), "
            "(SELECT count(*) FROM (SELECT 1 FROM effects GROUP BY event_id "
            " HAVING count(*) > 1) d) FROM effects"
        ))).one()
    return Tally(int(row[0]), int(row[1]), int(row[2]))


async def effect_ids(db: Db) -> set[uuid.UUID]:
    async with db.engine.connect() as conn:
        return {row[0] for row in await conn.execute(text("SELECT event_id FROM effects"))}


async def settle(
    predicate: Callable[[], Awaitable[bool]], *, timeout: float, quiet: float = 1.5
) -> bool:
    """Poll ``predicate`` (an exception counts as False: a dependency may be down) until it
    holds, then wait ``quiet`` seconds so that late extras (double effects) show; False when
    ``timeout`` passed first. The caller asserts exact figures either way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        with contextlib.suppress(Exception):  # PostgreSQL or Kafka is down on purpose
            if await predicate():
                await asyncio.sleep(quiet)
                return True
        await asyncio.sleep(0.2)
    return False


async def dead_letter_count(bootstrap: str, dlq: str) -> int:
    return len(await read_all(bootstrap, dlq))


class Running:
    """A backbone task (consumer or relay) that the test stops, or finds crashed."""

    def __init__(
        self, run: Callable[[asyncio.Event], Coroutine[Any, Any, None]], name: str
    ) -> None:
        self.name = name
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] = asyncio.create_task(run(self.stop), name=name)

    def crash(self) -> str | None:
        """None while the task runs; else how it ended (a backbone task must not end alone)."""
        if not self.task.done():
            return None
        if self.task.cancelled():
            return f"{self.name} was cancelled"
        error = self.task.exception()
        return f"{self.name} ended: {error!r}" if error else f"{self.name} returned"

    async def close(self) -> str | None:
        """Stop the task; returns how it failed (None when it stopped cleanly)."""
        self.stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self.task), timeout=30)
        if not self.task.done():
            self.task.cancel()
            return f"{self.name} did not stop within 30 s"
        crash = self.crash()
        return None if crash == f"{self.name} returned" else crash


class RunningConsumer(Running):
    def __init__(
        self, db: Db, bootstrap: str, topic: str, dlq: str,
        handler: Callable[[AsyncSession, Event], Awaitable[None]], *, group: str,
        name: str = "consumer", extra: dict[str, object] | None = None,
    ) -> None:
        self.consumer, self.dead_letters = make_consumer(
            db, bootstrap, topic, dlq, handler, group=group, extra=extra
        )
        super().__init__(self.consumer.run, name)

    async def close(self) -> str | None:
        try:
            return await super().close()
        finally:
            await self.dead_letters.close()


def start_relay(db: Db, bootstrap: str, *, service: str = "test") -> Running:
    relay = OutboxRelay(
        RelayConfig(service=service, dsn=db.dsn, kafka=bootstrap, batch_size=100,
                    poll_interval=0.2, backoff_initial=0.1, backoff_max=1.0)
    )
    return Running(relay.run, "relay")


class OutboxFeed:
    """Writes ``count`` events into the outbox at ``rate`` per second, one transaction each, as
    a service's API would. A write that fails (PostgreSQL down) is retried with the same event
    until it is committed; a unique violation on the event id means an earlier try committed."""

    def __init__(self, db: Db, topic: str, *, count: int, rate: float, aggregates: int = 8):
        self.db, self.topic, self.count, self.rate = db, topic, count, rate
        self.aggregates = aggregates
        self.written: list[Event] = []

    @property
    def ids(self) -> set[uuid.UUID]:
        return {event.id for event in self.written}

    async def run(self) -> None:
        for seq in range(self.count):
            event = seq_event(f"agg-{seq % self.aggregates}", seq)
            await self._write(event)
            self.written.append(event)
            await asyncio.sleep(1 / self.rate)

    async def _write(self, event: Event) -> None:
        while True:
            try:
                async with self.db.sessions() as session, session.begin():
                    await outbox.add(session, self.topic, event)
            except sa_exc.IntegrityError:
                return  # an earlier try committed it
            except Exception:  # PostgreSQL is down on purpose; try again
                await asyncio.sleep(0.2)
                continue
            return


async def publish_stream(
    bootstrap: str, topic: str, events: list[Event], *, max_batch_size: int = 16384
) -> None:
    """Send ``events`` as a relay would (binary mode, key = subject), pipelined, all acked.
    A small ``max_batch_size`` stores few records per batch, so consumers can fetch few."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                                max_batch_size=max_batch_size)
    await producer.start()
    try:
        futures = []
        for event in events:
            message = to_kafka(event)
            futures.append(await producer.send(
                topic, value=message.value, key=event.subject.encode(),
                headers=list(message.headers.items()),
            ))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def figures(
    db: Db, bootstrap: str, dlq: str, ids: set[uuid.UUID], running: list[Running]
) -> dict[str, object]:
    """What a fault run left behind, compared as a whole with :func:`no_harm`."""
    applied = await effect_ids(db)
    return {
        "effects": await tally(db),
        "events without effect": len(ids - applied),
        "effects of unknown events": len(applied - ids),
        "dead letters": await dead_letter_count(bootstrap, dlq),
        "unpublished outbox rows": await db.scalar(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        ),
        "crashed tasks": [crash for task in running if (crash := task.crash()) is not None],
    }


def no_harm(events: int) -> dict[str, object]:
    """The figures of a run in which the fault changed nothing: each event applied once."""
    return {
        "effects": Tally(events=events, applications=events, doubled=0),
        "events without effect": 0,
        "effects of unknown events": 0,
        "dead letters": 0,
        "unpublished outbox rows": 0,
        "crashed tasks": [],
    }


def paced(seconds: float) -> Callable[[AsyncSession, Event], Awaitable[None]]:
    """:func:`apply_effect` after a pause: a handler slow enough to have records in hand."""

    async def handler(session: AsyncSession, event: Event) -> None:
        await asyncio.sleep(seconds)
        await apply_effect(session, event)

    return handler


async def applied_at_least(db: Db, n: int) -> bool:
    """At least ``n`` applications of the effect so far (a stream is under way)."""
    return (await tally(db)).applications >= n


async def done_or_crashed(db: Db, events: int, *running: Running) -> bool:
    """Every one of ``events`` has its effect, or a task crashed (the figures then say which)."""
    if any(task.crash() is not None for task in running):
        return True
    return (await tally(db)).events >= events
