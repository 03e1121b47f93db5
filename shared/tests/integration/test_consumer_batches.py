"""The consumer's optimistic batches (one inbox statement per batch, no savepoints; a failing
record rolls the batch back, the records before it are replayed and it is retried alone) and
its in-memory ``accepts`` filter, against real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.consumer import Accepts, Consumer, ConsumerConfig, Handler, Subscription
from city_shared.deadletters import DeadLetterPublisher
from city_shared.envelope import Event

from .backbone_kit import Db, Seq, migrated_db, new_topic, produce_raw, seq_event, wait_until
from .test_consumer import as_raw, effects, record_effect

THING = "city.test.thing.happened.v1"


@pytest.fixture
async def db(database_url) -> Db:  # type: ignore[no-untyped-def]
    url = database_url()
    handle = await migrated_db(await url if asyncio.iscoroutine(url) else url)
    yield handle
    await handle.engine.dispose()


async def _consume(db: Db, bootstrap: str, events: list[Event], handler: Handler, *,
                   accepts: Accepts | None = None, until: int) -> list[str]:
    """Publish ``events`` to a one-partition topic before the consumer starts (so they come in
    one poll), consume until ``until`` effects exist and their offsets are committed; return
    the statements sent."""
    topic = await new_topic(bootstrap, partitions=1)
    dlq = await new_topic(bootstrap, partitions=1)
    await produce_raw(bootstrap, topic, [as_raw(e) for e in events])
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    dead_letters = DeadLetterPublisher(dlq, bootstrap)
    consumer = Consumer(
        ConsumerConfig(group_id=f"g-{uuid.uuid4().hex[:8]}", kafka=bootstrap,
                       dead_letter_topic=dlq, max_attempts=3, backoff_initial=0.05,
                       backoff_max=0.2),
        db.sessions, [Subscription(topic, THING, handler, accepts=accepts)],
        dead_letters=dead_letters,
    )
    sa_event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))

    async def done() -> bool:
        assert not task.done(), task
        return await db.scalar("SELECT count(*) FROM effects") >= until

    try:
        await wait_until(done)
        await asyncio.sleep(0.5)  # nothing more happens
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        sa_event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
        await dead_letters.close()
    return statements


async def test_a_batch_claims_its_inbox_rows_in_one_statement_without_savepoints(
    db: Db, kafka_bootstrap: str
) -> None:
    events = [seq_event("agg-1", n) for n in range(1, 6)]
    statements = await _consume(db, kafka_bootstrap, events, record_effect, until=5)

    assert await effects(db) == [1, 2, 3, 4, 5]
    assert sum("INSERT INTO inbox" in s for s in statements) == 1
    assert not [s for s in statements if "SAVEPOINT" in s]
    assert await db.scalar("SELECT count(*) FROM inbox") == 5


async def test_a_record_failing_mid_batch_is_retried_alone_and_the_others_count_once(
    db: Db, kafka_bootstrap: str
) -> None:
    """The third record fails once after writing: the batch is rolled back whole (its write
    too), the two before it are replayed and committed, it is retried alone and succeeds, the
    two after it follow. Every record has exactly one effect and one inbox row."""
    runs: Counter[int] = Counter()

    async def handler(session: AsyncSession, event: Event) -> None:
        seq = event.parse(Seq).seq
        runs[seq] += 1
        await record_effect(session, event)
        if seq == 3 and runs[seq] == 1:
            raise RuntimeError("flaky downstream")

    events = [seq_event("agg-1", n) for n in range(1, 6)]
    await _consume(db, kafka_bootstrap, events, handler, until=5)

    assert await effects(db) == [1, 2, 3, 4, 5]
    assert await db.scalar("SELECT count(*) FROM inbox") == 5
    # The records before the failure ran twice (the first run was rolled back), the failing
    # one twice (in the batch, then alone), the ones after it once.
    assert runs == {1: 2, 2: 2, 3: 2, 4: 1, 5: 1}


async def test_an_event_the_filter_turns_down_costs_no_statement_and_is_passed(
    db: Db, kafka_bootstrap: str
) -> None:
    events = [seq_event("agg-1", n) for n in (1, 2, 3)]
    turned_down = events[1]

    def accepts(event: Event) -> bool:
        return event.id != turned_down.id

    statements = await _consume(db, kafka_bootstrap, events, record_effect, accepts=accepts,
                                until=2)

    assert await effects(db) == [1, 3]
    assert await db.scalar(
        f"SELECT count(*) FROM inbox WHERE event_id = '{turned_down.id}'") == 0  # noqa: S608
    assert await db.scalar("SELECT count(*) FROM inbox") == 2
    assert not [s for s in statements if "SAVEPOINT" in s]


async def test_without_the_filter_the_same_event_is_handled(
    db: Db, kafka_bootstrap: str
) -> None:
    """Negative control of the test above."""
    events = [seq_event("agg-1", n) for n in (1, 2, 3)]
    await _consume(db, kafka_bootstrap, events, record_effect, until=3)
    assert await effects(db) == [1, 2, 3]


async def test_a_filter_that_fails_lets_the_event_through_to_its_handler(
    db: Db, kafka_bootstrap: str
) -> None:
    """A bug in a subscription's filter neither stops the consumer nor drops the event: the
    handler decides (here it handles all three)."""
    events = [seq_event("agg-1", n) for n in (1, 2, 3)]
    broken = events[1]

    def accepts(event: Event) -> bool:
        if event.id == broken.id:
            raise KeyError("source")
        return True

    await _consume(db, kafka_bootstrap, events, record_effect, accepts=accepts, until=3)
    assert await effects(db) == [1, 2, 3]

