"""The worker skips an event no rule names before opening a transaction (in-memory rule view):
no statement, no inbox row, and its offset is committed; an event a rule names is still sent;
a rule created later is honoured once the view is refreshed.

The consumer here is the shared one on real Kafka, on a topic of its own, with the worker's
real citizen-event handler and :class:`RuleView` (as :func:`build_subscriptions` wires them).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy import event as sa_event

from city_shared.consumer import ANY_TYPE, Accepts, Consumer, ConsumerConfig, Subscription
from city_shared.deadletters import DeadLetterPublisher
from city_shared.envelope import Event
from city_shared.testing import publish
from city_shared.topics import TopicSpec, ensure_topics
from notification_service.deliveries.handlers import citizen_event_handler
from notification_service.deliveries.service import MessageConfig
from notification_service.rules.view import RuleView
from notification_service.subscriptions import CITIZEN_TOPICS, build_subscriptions

ERIKA = uuid.UUID("0b0f6a4e-51a3-4d1c-9a51-4c1f0d3e7a21")
PLACED = "city.ticketing.order.placed.v1"  # no demo rule names it


async def _committed(bootstrap: str, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    except KafkaError:  # the group's coordinator is not there yet
        return -1
    finally:
        await admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)


async def _consume(notify: Any, bootstrap: str, events: list[Event],
                   accepts: Accepts | None) -> list[str]:
    """Publish ``events`` to a new topic and consume them until every offset is committed;
    returns the statements the consumer sent to the database."""
    topic = f"test.notify.{uuid.uuid4().hex[:10]}"
    dlq = f"{topic}.dlq"
    await ensure_topics(bootstrap, [TopicSpec(topic, partitions=1), TopicSpec(dlq, 1)])
    await publish(bootstrap, topic, events)
    group = f"test-{uuid.uuid4().hex[:8]}"
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append(f"{statement} {parameters}")

    def began(conn: Any) -> None:
        statements.append("BEGIN")

    dead_letters = DeadLetterPublisher(dlq, bootstrap)
    consumer = Consumer(
        ConsumerConfig(group_id=group, bootstrap_servers=bootstrap, dead_letter_topic=dlq),
        notify.sessions,
        [Subscription(topic, ANY_TYPE, citizen_event_handler(MessageConfig("de")),
                      accepts=accepts)],
        dead_letters=dead_letters,
    )
    sync_engine = notify.engine.sync_engine
    sa_event.listen(sync_engine, "before_cursor_execute", seen)
    sa_event.listen(sync_engine, "begin", began)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(300):  # up to 60 s: joining the group takes a few seconds
            if await _committed(bootstrap, group, topic) == len(events):
                break
            assert not task.done(), task
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("offsets not committed in time")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        sa_event.remove(sync_engine, "before_cursor_execute", seen)
        sa_event.remove(sync_engine, "begin", began)
        await dead_letters.close()
    return statements


def _mentioning(statements: list[str], event: Event) -> list[str]:
    return [s for s in statements if str(event.id) in s]


async def _inbox_has(notify: Any, event: Event) -> bool:
    return bool(await notify.scalar(
        "SELECT count(*) FROM inbox WHERE event_id = :id", id=event.id))


async def test_an_event_no_rule_names_costs_no_statement_and_a_named_one_is_sent(
    notify: Any, kafka_bootstrap: str,
) -> None:
    view = RuleView(notify.sessions)
    await view.refresh()
    alone = notify.order_event(PLACED, account_id=ERIKA, email=notify.new_address())

    # Its offset is committed (_consume waits for it) without a transaction or a statement.
    assert await _consume(notify, kafka_bootstrap, [alone], view.accepts) == []
    assert not await _inbox_has(notify, alone)

    unmatched = notify.order_event(PLACED, account_id=ERIKA, email=notify.new_address())
    matched = notify.order_event(account_id=ERIKA, email=notify.new_address())
    statements = await _consume(notify, kafka_bootstrap, [unmatched, matched], view.accepts)

    assert _mentioning(statements, unmatched) == []
    assert not await _inbox_has(notify, unmatched)
    assert await _inbox_has(notify, matched)
    assert statements.count("BEGIN") == 1  # the matched event's transaction
    assert _mentioning(statements, matched)
    assert await notify.deliveries(matched.id)  # a message to send
    assert not await notify.deliveries(unmatched.id)


async def test_without_the_view_the_unmatched_event_opens_a_transaction(
    notify: Any, kafka_bootstrap: str,
) -> None:
    """Negative control: the same unmatched event without the view is claimed in the inbox
    (a transaction and statements), though it sends nothing either."""
    unmatched = notify.order_event(PLACED, account_id=ERIKA, email=notify.new_address())

    statements = await _consume(notify, kafka_bootstrap, [unmatched], None)

    assert await _inbox_has(notify, unmatched)
    assert statements.count("BEGIN") == 1
    assert _mentioning(statements, unmatched)
    assert not await notify.deliveries(unmatched.id)


async def test_a_rule_created_later_is_honoured_after_the_refresh(
    notify: Any, kafka_bootstrap: str,
) -> None:
    view = RuleView(notify.sessions)
    assert view.accepts(notify.order_event(PLACED, account_id=ERIKA))  # not loaded: all pass
    await view.refresh()
    before = notify.order_event(PLACED, account_id=ERIKA, email=notify.new_address())
    assert not view.accepts(before)
    admin = notify.admin_headers()
    created = await notify.client.post("/rules", headers=admin, json={
        "event_type": PLACED, "template_key": "ticketing-order-confirmed",
        "channels": ["inbox"]})
    assert created.status_code == 201, created.text
    assert not view.accepts(before)  # the view is as fresh as its last refresh

    await view.refresh()

    after = notify.order_event(PLACED, account_id=ERIKA, email=notify.new_address())
    assert view.accepts(after)
    await _consume(notify, kafka_bootstrap, [after], view.accepts)
    assert await notify.deliveries(after.id)
    # Another tenant has no such rule: its events are still skipped.
    assert not view.accepts(notify.order_event(PLACED, account_id=ERIKA,
                                               tenant="beispielhausen"))


async def test_the_worker_wires_the_view_to_the_citizen_topics_only(notify: Any) -> None:
    view = RuleView(notify.sessions)
    subscriptions = build_subscriptions(notify.settings, view)
    filtered = {s.topic for s in subscriptions if s.accepts is not None}
    assert filtered == set(CITIZEN_TOPICS)
    assert all(s.accepts is None for s in build_subscriptions(notify.settings))
