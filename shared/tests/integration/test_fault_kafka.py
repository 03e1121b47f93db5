"""Fault: the Kafka broker is killed (SIGKILL) and started again ~10 s later while events are
written into the outbox at a steady rate and flow through the relay to a consumer. No event is
lost or applied twice, and relay and consumer resume by themselves.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from devstack.kafka import KafkaServer

from .backbone_kit import (
    QUICK_GROUP,
    Db,
    OutboxFeed,
    RunningConsumer,
    applied_at_least,
    apply_effect,
    done_or_crashed,
    figures,
    migrated_db,
    new_topic,
    no_harm,
    settle,
    start_relay,
)

EVENTS = 360
RATE = 15.0  # events written per second: the writes go on before, during and after the outage
DOWN_SECONDS = 10.0


@pytest.fixture
async def db(database_url: Callable[[], Awaitable[str]]) -> AsyncIterator[Db]:
    handle = await migrated_db(await database_url())
    yield handle
    await handle.engine.dispose()


async def test_broker_killed_under_load_loses_nothing_applies_nothing_twice_and_all_resume(
    db: Db, controllable_kafka: KafkaServer
) -> None:
    bootstrap = controllable_kafka.bootstrap_servers
    topic = await new_topic(bootstrap, partitions=2)
    dlq = await new_topic(bootstrap, partitions=1)
    relay = start_relay(db, bootstrap)
    consumer = RunningConsumer(db, bootstrap, topic, dlq, apply_effect,
                               group=f"g-{uuid.uuid4().hex[:8]}", extra=QUICK_GROUP)
    feed = OutboxFeed(db, topic, count=EVENTS, rate=RATE)
    writing = asyncio.create_task(feed.run())
    try:
        assert await settle(lambda: applied_at_least(db, 40), timeout=60, quiet=0), \
            "events flow before the fault"
        controllable_kafka.kill()
        await asyncio.sleep(DOWN_SECONDS)
        written_while_down = len(feed.written)
        await controllable_kafka.start()
        await asyncio.wait_for(writing, timeout=120)
        assert len(feed.written) > written_while_down, "writes went on after the outage"
        await settle(lambda: done_or_crashed(db, EVENTS, relay, consumer), timeout=150)

        assert await figures(db, bootstrap, dlq, feed.ids, [relay, consumer]) == no_harm(EVENTS)
    finally:
        writing.cancel()
        await consumer.close()
        await relay.close()

