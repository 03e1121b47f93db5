"""Helpers for the backbone integration tests: a migrated database, topics, relays, consumers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from city_shared.backbone import create_backbone
from city_shared.consumer import Consumer, ConsumerConfig, Subscription
from city_shared.db import asyncpg_dsn, create_engine, create_session_factory
from city_shared.deadletters import DeadLetterPublisher
from city_shared.envelope import Event, new_event
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
        RelayConfig(service=service, dsn=db.dsn, bootstrap_servers=bootstrap,
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
    owned: bool = False,
) -> tuple[Consumer, DeadLetterPublisher]:
    dead_letters = DeadLetterPublisher(dlq, bootstrap)
    consumer = Consumer(
        ConsumerConfig(group_id=group, bootstrap_servers=bootstrap, dead_letter_topic=dlq,
                       owned_topics=frozenset({topic}) if owned else frozenset(),
                       max_attempts=max_attempts, backoff_initial=0.05, backoff_max=0.2),
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
