"""The shared consumer against real PostgreSQL and Kafka: inbox, retries, dead letters, crashes."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.deadletters import list_dead_letters, replay
from city_shared.envelope import Event, to_kafka
from city_shared.topics import TopicSpec, ensure_topics

from .backbone_kit import (
    Db,
    Seq,
    make_consumer,
    migrated_db,
    new_topic,
    produce_raw,
    seq_event,
    wait_until,
)


@pytest.fixture
async def db(database_url) -> Db:  # type: ignore[no-untyped-def]
    url = database_url()
    handle = await migrated_db(await url if asyncio.iscoroutine(url) else url)
    yield handle
    await handle.engine.dispose()


async def record_effect(session: AsyncSession, event: Event) -> None:
    await session.execute(
        text("INSERT INTO effects (event_id, seq) VALUES (:id, :seq)"),
        {"id": event.id, "seq": event.parse(Seq).seq},
    )


def as_raw(event: Event) -> tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]:
    message = to_kafka(event)
    return event.subject.encode(), bytes(message.value), list(message.headers.items())


class Running:
    """A consumer task that the test can stop (or that stops itself on a simulated crash)."""

    def __init__(self, consumer, dead_letters) -> None:  # type: ignore[no-untyped-def]
        self.consumer = consumer
        self.dead_letters = dead_letters
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(consumer.run(self.stop))

    async def close(self) -> None:
        self.stop.set()
        try:
            await asyncio.wait_for(self.task, timeout=30)
        finally:
            await self.dead_letters.close()


async def effects(db: Db) -> list[int]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT seq FROM effects ORDER BY id"))
        return [row[0] for row in rows]


async def test_a_record_delivered_twice_changes_the_state_once(
    db: Db, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, partitions=1)
    dlq = await new_topic(kafka_bootstrap, partitions=1)
    event = seq_event("agg-1", 1)
    after = seq_event("agg-1", 2)
    await produce_raw(kafka_bootstrap, topic, [as_raw(event), as_raw(event), as_raw(after)])

    running = Running(*make_consumer(db, kafka_bootstrap, topic, dlq, record_effect,
                                     group=f"g-{uuid.uuid4().hex[:8]}"))
    try:
        await wait_until(lambda: _count(db, 2))
        await asyncio.sleep(1.0)
    finally:
        await running.close()
    assert await effects(db) == [1, 2]


async def _count(db: Db, n: int) -> bool:
    return await db.scalar("SELECT count(*) FROM effects") >= n


async def test_a_handler_that_keeps_failing_ends_in_dead_letters_and_next_records_are_consumed(
    db: Db, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, partitions=1)
    dlq = await new_topic(kafka_bootstrap, partitions=1)
    poison = seq_event("agg-1", 13)
    attempts: list[int] = []

    async def handler(session: AsyncSession, event: Event) -> None:
        if event.parse(Seq).seq == 13:
            attempts.append(1)
            await record_effect(session, event)  # rolled back with the failure
            raise RuntimeError("downstream refused")
        await record_effect(session, event)

    records = [as_raw(seq_event("agg-1", 1)), as_raw(poison), as_raw(seq_event("agg-1", 2))]
    await produce_raw(kafka_bootstrap, topic, records)
    running = Running(*make_consumer(db, kafka_bootstrap, topic, dlq, handler,
                                     group=f"g-{uuid.uuid4().hex[:8]}", max_attempts=3))
    try:
        await wait_until(lambda: _count(db, 2))
    finally:
        await running.close()

    assert await effects(db) == [1, 2]
    assert len(attempts) == 3
    (letter,) = await list_dead_letters(kafka_bootstrap, dlq)
    assert letter.event_id == str(poison.id)
    assert letter.original_topic == topic
    assert letter.reason == "handler_failed"
    assert letter.error_type == "RuntimeError"
    assert letter.attempts == 3


async def test_malformed_and_unknown_records_go_to_dead_letters_and_are_replayable(
    db: Db, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, partitions=1)
    dlq = await new_topic(kafka_bootstrap, partitions=1)
    good = seq_event("agg-1", 1)
    _, value, headers = as_raw(good)
    no_id = [(k, v) for k, v in headers if k != "ce_id"]
    other_type = seq_event("agg-1", 5).model_copy(update={"type": "city.test.thing.vanished.v1"})
    await produce_raw(kafka_bootstrap, topic, [
        (b"agg-1", b"{not json", headers),
        (b"agg-1", value, no_id),
        (b"agg-1", value, []),
        as_raw(other_type),
        as_raw(good),
    ])
    running = Running(*make_consumer(db, kafka_bootstrap, topic, dlq, record_effect,
                                     group=f"g-{uuid.uuid4().hex[:8]}", owned=True))
    try:
        await wait_until(lambda: _count(db, 1))
        letters = await list_dead_letters(kafka_bootstrap, dlq)
        assert [letter.reason for letter in letters] == [
            "malformed", "malformed", "malformed", "unknown_type"
        ]
        assert await effects(db) == [1]

        # The operator replays the dead letters: the well-formed good event's duplicate is
        # dropped by the inbox, the malformed ones come back to the dead letters again.
        await replay(kafka_bootstrap, dlq, partition=0)
        await wait_until(lambda: _letters_at_least(kafka_bootstrap, dlq, 8))
    finally:
        await running.close()
    assert await effects(db) == [1]


async def _letters_at_least(bootstrap: str, dlq: str, n: int) -> bool:
    return len(await list_dead_letters(bootstrap, dlq)) >= n


class Crash(BaseException):
    """Simulates the process dying: escapes every ``except Exception``."""


async def test_a_consumer_killed_between_db_commit_and_offset_commit_causes_no_double_effect(
    db: Db, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, partitions=1)
    dlq = await new_topic(kafka_bootstrap, partitions=1)
    group = f"g-{uuid.uuid4().hex[:8]}"
    event = seq_event("agg-1", 1)
    await produce_raw(kafka_bootstrap, topic, [as_raw(event)])

    async def crash(record: ConsumerRecord[bytes, bytes]) -> None:
        raise Crash

    first = Running(*make_consumer(db, kafka_bootstrap, topic, dlq, record_effect, group=group,
                                   after_db_commit=crash))
    with pytest.raises(Crash):
        await asyncio.wait_for(first.task, timeout=60)
    await first.dead_letters.close()
    assert await effects(db) == [1], "the handler's transaction committed before the crash"

    redelivered: list[int] = []

    async def seen(record: ConsumerRecord[bytes, bytes]) -> None:
        redelivered.append(record.offset)

    second = Running(*make_consumer(db, kafka_bootstrap, topic, dlq, record_effect, group=group,
                                    after_db_commit=seen))
    try:
        await wait_until(lambda: _true(redelivered), timeout=60)
    finally:
        await second.close()
    assert redelivered == [0], "the offset was not committed, so the record came again"
    assert await effects(db) == [1]


async def _true(items: list[int]) -> bool:
    return bool(items)



async def test_the_consumer_waits_for_a_topic_another_service_creates_later(
    db: Db, kafka_bootstrap: str
) -> None:
    topic = f"later.{uuid.uuid4().hex[:10]}"  # not created yet
    dlq = await new_topic(kafka_bootstrap, partitions=1)
    running = Running(*make_consumer(db, kafka_bootstrap, topic, dlq, record_effect,
                                     group=f"g-{uuid.uuid4().hex[:8]}"))
    try:
        await asyncio.sleep(2)
        assert not running.task.done()  # waiting, not crashed on the unknown topic
        await ensure_topics(kafka_bootstrap, [TopicSpec(topic, partitions=1)])
        await produce_raw(kafka_bootstrap, topic, [as_raw(seq_event("agg-1", 1))])
        await wait_until(lambda: _count(db, 1))
    finally:
        await running.close()
    assert await effects(db) == [1]
