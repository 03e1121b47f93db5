"""Fault: PostgreSQL stops abruptly and comes back ~10 s later while events flow through the outbox
relay and a consumer. Nothing is lost, nothing applied twice, nothing dead-lettered (the database
being away is no fault of the events), and relay and consumer resume by themselves; also with
the worker's consumer engine, which does not ping pooled connections before use.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator

import pytest

from city_shared.db import create_session_factory
from city_shared.worker import consumer_engine
from devstack.ports import free_port
from devstack.postgres import PostgresServer
from devstack.sessions import POSTGRES_SUBDIR, create_session_dir

from .backbone_kit import (
    QUICK_GROUP,
    Db,
    OutboxFeed,
    RunningConsumer,
    applied_at_least,
    done_or_crashed,
    figures,
    migrated_db,
    new_topic,
    no_harm,
    paced,
    settle,
    start_relay,
)

EVENTS = 240
RATE = 20.0  # events written per second, by one writer, one transaction each
DOWN_SECONDS = 10.0
#: About as slow as the writer on two partitions: the consumer has records in hand when the
#: database goes away.
HANDLER_SECONDS = 0.1


@pytest.fixture
async def private_postgres() -> AsyncIterator[PostgresServer]:
    """A PostgreSQL of this test's own: the session's serves every other test and must stay up.
    It lives in a session directory of its own, so a later session reaps it if this one is
    killed."""
    root = create_session_dir()
    # Durable commits: with fsync off the server also turns synchronous_commit off, and an
    # immediate shutdown would then lose commits it had acknowledged (a test artefact).
    server = PostgresServer(root / POSTGRES_SUBDIR, free_port(), fsync=True)
    try:
        await server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def db(private_postgres: PostgresServer) -> AsyncIterator[Db]:
    handle = await migrated_db(await private_postgres.create_database("fault_postgres"))
    yield handle
    await handle.engine.dispose()


@pytest.mark.parametrize("engine", ["pre-ping", "worker"])
async def test_postgres_restarted_under_load_loses_nothing_applies_nothing_twice_and_all_resume(
    db: Db, private_postgres: PostgresServer, kafka_bootstrap: str, engine: str
) -> None:
    topic = await new_topic(kafka_bootstrap, partitions=2)
    dlq = await new_topic(kafka_bootstrap, partitions=1)
    relay = start_relay(db, kafka_bootstrap)
    consumer_db = db
    if engine == "worker":  # as run_worker builds it: no pool_pre_ping
        worker_engine = consumer_engine(db.url, pool_size=5)
        consumer_db = Db(db.url, worker_engine, create_session_factory(worker_engine))
    consumer = RunningConsumer(consumer_db, kafka_bootstrap, topic, dlq, paced(HANDLER_SECONDS),
                               group=f"g-{uuid.uuid4().hex[:8]}", extra=QUICK_GROUP)
    feed = OutboxFeed(db, topic, count=EVENTS, rate=RATE)
    writing = asyncio.create_task(feed.run())
    try:
        assert await settle(lambda: applied_at_least(db, 40), timeout=60, quiet=0), \
            "events flow before the fault"
        # An immediate shutdown: every connection is cut and the restart runs crash recovery.
        await asyncio.to_thread(private_postgres.stop_sync, "immediate")
        await asyncio.sleep(DOWN_SECONDS)
        await private_postgres.start()
        await asyncio.wait_for(writing, timeout=120)
        await settle(lambda: done_or_crashed(db, EVENTS, relay, consumer), timeout=90)

        assert await figures(db, kafka_bootstrap, dlq, feed.ids, [relay, consumer]) == \
            no_harm(EVENTS)
    finally:
        writing.cancel()
        await consumer.close()
        await relay.close()
        if consumer_db is not db:
            await consumer_db.engine.dispose()

