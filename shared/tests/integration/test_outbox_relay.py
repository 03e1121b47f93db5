"""The outbox relay against real PostgreSQL and Kafka: commit-only, once, in order, Kafka down."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import pytest

from city_shared import outbox

from .backbone_kit import (
    Db,
    header,
    migrated_db,
    new_topic,
    read_records,
    running_relay,
    seq_event,
    wait_until,
)


@pytest.fixture
async def db(database_url) -> Db:  # type: ignore[no-untyped-def]
    handle = await migrated_db(await _url(database_url))
    yield handle
    await handle.engine.dispose()


async def _url(factory):  # type: ignore[no-untyped-def]
    url = factory()
    return await url if asyncio.iscoroutine(url) else url


def _seqs_by_key(records) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    by_key: dict[str, list[int]] = defaultdict(list)
    for record in records:
        by_key[record.key.decode()].append(json.loads(record.value)["seq"])
    return by_key


async def test_rolled_back_event_is_never_published_and_committed_one_is_published_once(
    db: Db, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap)
    rolled_back = seq_event("order-1", 1)
    committed = seq_event("order-1", 2)
    async with db.sessions() as session, session.begin():
        await outbox.add(session, topic, rolled_back)
        await session.rollback()
    async with db.sessions() as session, session.begin():
        await outbox.add(session, topic, committed)

    async with running_relay(db, kafka_bootstrap):
        await wait_until(lambda: _unpublished_is(db, 0))
        records = await read_records(kafka_bootstrap, topic, at_least=1, settle=2.0)

    assert [header(r, "ce_id") for r in records] == [str(committed.id)]
    assert await db.scalar("SELECT count(*) FROM outbox") == 1


async def _unpublished_is(db: Db, n: int) -> bool:
    return await db.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == n


async def test_published_record_is_a_binary_mode_cloudevent_keyed_by_aggregate(
    db: Db, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap)
    event = seq_event("order-42", 7)
    async with db.sessions() as session, session.begin():
        await outbox.add(session, topic, event)
    async with running_relay(db, kafka_bootstrap):
        (record,) = await read_records(kafka_bootstrap, topic, at_least=1)

    assert record.key == b"order-42"
    assert json.loads(record.value) == {"seq": 7}
    assert header(record, "content-type") == "application/json"
    assert header(record, "ce_specversion") == "1.0"
    assert header(record, "ce_type") == "city.test.thing.happened.v1"
    assert header(record, "ce_source") == "/test"
    assert header(record, "ce_subject") == "order-42"
    assert header(record, "ce_tenant") == "musterstadt"
    assert header(record, "ce_correlationid") == event.correlationid


async def test_events_written_while_kafka_is_down_are_published_in_order_when_it_is_back(
    db: Db, kafka_server, kafka_bootstrap: str  # type: ignore[no-untyped-def]
) -> None:
    if not getattr(kafka_server, "controllable", True):
        pytest.skip("the broker is external (CITY_TEST_KAFKA_BOOTSTRAP); it cannot be stopped")
    topic = await new_topic(kafka_bootstrap)
    async with running_relay(db, kafka_bootstrap, batch_size=7):
        await kafka_server.stop()
        try:
            for seq in range(40):
                async with db.sessions() as session, session.begin():
                    await outbox.add(session, topic, seq_event(f"agg-{seq % 2}", seq))
            await asyncio.sleep(3)
            assert await db.scalar(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            ) == 40, "nothing can be published while Kafka is down"
        finally:
            await kafka_server.start()
        await wait_until(lambda: _unpublished_is(db, 0), timeout=90)
    records = await read_records(kafka_bootstrap, topic, at_least=40, settle=1.0)

    first_seen = _first_occurrences(records)
    by_key = _seqs_by_key(first_seen)
    assert by_key["agg-0"] == list(range(0, 40, 2))
    assert by_key["agg-1"] == list(range(1, 40, 2))


def _first_occurrences(records):  # type: ignore[no-untyped-def]
    seen: set[str | None] = set()
    out = []
    for record in records:
        event_id = header(record, "ce_id")
        if event_id not in seen:
            seen.add(event_id)
            out.append(record)
    return out


async def _write_concurrently(db: Db, topic: str, aggregates: int, per_aggregate: int) -> None:
    """One writer per aggregate, each committing its events one transaction at a time."""

    async def writer(agg: int) -> None:
        for seq in range(per_aggregate):
            async with db.sessions() as session, session.begin():
                await outbox.add(session, topic, seq_event(f"agg-{agg}", seq))

    await asyncio.gather(*(writer(a) for a in range(aggregates)))


async def _two_relays_publish(db: Db, bootstrap: str, *, use_lock: bool):  # type: ignore[no-untyped-def]
    topic = await new_topic(bootstrap)
    total = 4 * 60
    async with (
        running_relay(db, bootstrap, batch_size=5, use_lock=use_lock),
        running_relay(db, bootstrap, batch_size=5, use_lock=use_lock),
    ):
        await _write_concurrently(db, topic, aggregates=4, per_aggregate=60)
        await wait_until(lambda: _unpublished_is(db, 0), timeout=60)
    return await read_records(bootstrap, topic, at_least=total, settle=2.0), total


async def test_two_relays_at_once_publish_each_event_once_and_in_order(
    db: Db, kafka_bootstrap: str
) -> None:
    records, total = await _two_relays_publish(db, kafka_bootstrap, use_lock=True)

    assert len(records) == total
    by_key = _seqs_by_key(records)
    for agg in range(4):
        assert by_key[f"agg-{agg}"] == list(range(60))


async def test_negative_control_two_relays_without_the_lock_double_publish(
    db: Db, kafka_bootstrap: str
) -> None:
    """Shows the test above can fail: without the advisory lock both relays publish the rows."""
    records, total = await _two_relays_publish(db, kafka_bootstrap, use_lock=False)

    by_key = _seqs_by_key(records)
    in_order = all(by_key[f"agg-{a}"] == list(range(60)) for a in range(4))
    assert len(records) > total or not in_order
