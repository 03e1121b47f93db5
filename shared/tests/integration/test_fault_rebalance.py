"""Fault: a second consumer of the same group joins and leaves, twice, while a stream is processed.

Each join arrives while the first consumer is in the middle of a long handler call, so
partitions whose records are in hand are revoked mid-processing. On the first visit the call
ends within the group's rebalance timeout (the consumer can finish and hand over cleanly); on
the second it outlasts it, so the group moves on without the first consumer and records it had
already handled are read again by their new owner: the inbox must turn those into no-ops.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.envelope import Event

from .backbone_kit import (
    QUICK_GROUP,
    Db,
    RunningConsumer,
    Seq,
    apply_effect,
    apply_effect_apart,
    drop_inbox_uniqueness,
    figures,
    migrated_db,
    new_topic,
    no_harm,
    publish_stream,
    seq_event,
    settle,
    tally,
)

EVENTS = 1200
AGGREGATES = 32
PARTITIONS = 4
STEP_SECONDS = 0.01
#: Long handler calls (event seq -> seconds): each visit starts while one of them is in hand.
SLOW = {250: 4.0, 700: 10.0}
#: Quick membership changes; the rebalance timeout defaults to the 6 s session timeout, longer
#: than the first slow call and shorter than the second. Small fetches: every poll holds a few
#: records of each partition, so a revocation always takes away partitions with records in hand.
GROUP = {**QUICK_GROUP, "max_partition_fetch_bytes": 4096}


@pytest.fixture
async def db(database_url: Callable[[], Awaitable[str]]) -> AsyncIterator[Db]:
    handle = await migrated_db(await database_url())
    yield handle
    await handle.engine.dispose()


class SlowHandler:
    """Applies the effect after a short pause (a long one the first time a :data:`SLOW` event
    is handled, which says when it starts)."""

    def __init__(self, db: Db, *, atomic: bool = True) -> None:
        self.db = db
        self.atomic = atomic
        self.started = {seq: asyncio.Event() for seq in SLOW}

    async def __call__(self, session: AsyncSession, event: Event) -> None:
        seq = event.parse(Seq).seq
        if seq in self.started and not self.started[seq].is_set():
            self.started[seq].set()
            await asyncio.sleep(SLOW[seq])
        else:
            await asyncio.sleep(STEP_SECONDS)
        if self.atomic:
            await apply_effect(session, event)
        else:
            await apply_effect_apart(self.db.engine, event)


def _progress(db: Db, more: int) -> Callable[[], Awaitable[bool]]:
    """A condition: ``more`` effects applied after now."""
    target: int | None = None

    async def reached() -> bool:
        nonlocal target
        applied = (await tally(db)).applications
        if target is None:
            target = applied + more
        return applied >= target

    return reached


async def _stream_with_visitors(
    db: Db, bootstrap: str, handler: SlowHandler
) -> tuple[set[uuid.UUID], RunningConsumer, list[str], str]:
    """Run the stream through consumer A while B joins and leaves twice. Returns the event
    ids, A (still running), what went wrong with the visitors, and the dead-letter topic."""
    topic = await new_topic(bootstrap, partitions=PARTITIONS)
    dlq = await new_topic(bootstrap, partitions=1)
    events = [seq_event(f"agg-{seq % AGGREGATES}", seq) for seq in range(EVENTS)]
    await publish_stream(bootstrap, topic, events, max_batch_size=1024)
    group = f"g-{uuid.uuid4().hex[:8]}"
    a = RunningConsumer(db, bootstrap, topic, dlq, handler, group=group, name="consumer A",
                        extra=GROUP)
    problems: list[str] = []
    for visit, seq in enumerate(SLOW, start=1):
        slow_started = asyncio.create_task(handler.started[seq].wait())
        await asyncio.wait([slow_started, a.task], timeout=120,
                           return_when=asyncio.FIRST_COMPLETED)
        slow_started.cancel()
        if a.task.done():
            break
        b = RunningConsumer(db, bootstrap, topic, dlq, handler, group=group,
                            name=f"consumer B (visit {visit})", extra=GROUP)
        try:
            joined = asyncio.create_task(b.consumer.ready.wait())
            await asyncio.wait([joined, b.task], timeout=60, return_when=asyncio.FIRST_COMPLETED)
            joined.cancel()
            if not b.consumer.ready.is_set():
                problems.append(f"{b.name} was never assigned a partition")
            await settle(_progress(db, 150), timeout=60, quiet=0)
            if (crash := b.crash()) is not None:
                problems.append(crash)
        finally:
            if (failure := await b.close()) is not None:
                problems.append(failure)
    return {event.id for event in events}, a, problems, dlq


async def test_a_consumer_joining_and_leaving_mid_stream_leaves_every_event_applied_once(
    db: Db, kafka_bootstrap: str
) -> None:
    handler = SlowHandler(db)
    ids, a, problems, dlq = await _stream_with_visitors(db, kafka_bootstrap, handler)
    try:
        await settle(lambda: _all_applied_or_crashed(db, a), timeout=120)
        assert await figures(db, kafka_bootstrap, dlq, ids, [a]) == no_harm(EVENTS)
        assert problems == []
    finally:
        await a.close()


async def _all_applied_or_crashed(db: Db, a: RunningConsumer) -> bool:
    return a.task.done() or (await tally(db)).events >= EVENTS


async def test_negative_control_without_the_inbox_the_same_visits_apply_events_twice(
    db: Db, kafka_bootstrap: str
) -> None:
    """Shows that the records above really are read twice and that the test sees a double
    effect: with an inbox that dedupes nothing and the effect committed outside the claim's
    transaction, the same run applies some events twice."""
    await drop_inbox_uniqueness(db)
    handler = SlowHandler(db, atomic=False)
    _, a, _, _ = await _stream_with_visitors(db, kafka_bootstrap, handler)
    try:
        await settle(lambda: _all_applied_or_crashed(db, a), timeout=120)
        assert (await tally(db)).doubled > 0
    finally:
        await a.close()
