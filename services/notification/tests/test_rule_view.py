"""The worker skips an event no rule names before opening a transaction (in-memory rule view):
no statement, no inbox row, and its offset is committed; an event a rule names is still sent;
a rule created later is honoured at once (PostgreSQL notifies the view), not after a polling
interval; a lost listening connection lets everything through until the view is current again.

The consumer here is the shared one on real Kafka, on a topic of its own, with the worker's
real citizen-event handler and :class:`RuleView` (as :func:`build_subscriptions` wires them).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy import event as sa_event

from city_shared.consumer import ANY_TYPE, Accepts, Consumer, ConsumerConfig, Subscription
from city_shared.db import asyncpg_dsn
from city_shared.deadletters import DeadLetterPublisher
from city_shared.envelope import Event
from city_shared.testing import publish
from city_shared.topics import TopicSpec, ensure_topics
from notification_service.deliveries.handlers import citizen_event_handler
from notification_service.deliveries.service import MessageConfig
from notification_service.rules.view import RULES_CHANNEL, VIEW_APPLICATION_NAME, RuleView
from notification_service.subscriptions import CITIZEN_TOPICS, build_subscriptions

ERIKA = uuid.UUID("0b0f6a4e-51a3-4d1c-9a51-4c1f0d3e7a21")
PLACED = "city.ticketing.order.placed.v1"  # no demo rule names it
#: Longer than any test: a view that learns of a change did so by notification, not by timer.
NEVER = 300.0


@contextlib.asynccontextmanager
async def running_view(notify: Any, *, channel: str = RULES_CHANNEL) -> AsyncIterator[RuleView]:
    """A view running as in the worker (listening), once it read the rules."""
    view = RuleView(asyncpg_dsn(notify.settings.database_url.get_secret_value()),
                    refresh_seconds=NEVER, channel=channel)
    stop = asyncio.Event()
    task = asyncio.create_task(view.run(stop))
    try:
        await until(lambda: view.loaded, task)
        yield view
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def until(condition: Callable[[], bool], task: asyncio.Task[None] | None = None) -> None:
    """Wait (up to 30 s, far below :data:`NEVER`) until ``condition`` holds."""
    for _ in range(300):
        if condition():
            return
        assert task is None or not task.done(), task
        await asyncio.sleep(0.1)
    raise AssertionError("the rule view did not get there")


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
        ConsumerConfig(group_id=group, kafka=bootstrap, dead_letter_topic=dlq),
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
    async with running_view(notify) as view:
        await _skips_unmatched_and_sends_matched(notify, kafka_bootstrap, view)


async def _skips_unmatched_and_sends_matched(notify: Any, kafka_bootstrap: str,
                                             view: RuleView) -> None:
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


async def test_a_rule_created_later_is_honoured_at_once_by_notification(
    notify: Any, kafka_bootstrap: str,
) -> None:
    """Both views re-read on their own only every 300 s. The one listening on the rules'
    channel hears of the new rule at its commit; the control, listening on a channel nothing
    notifies (the earlier polling design), still skips the event afterwards."""
    async with running_view(notify) as view, \
            running_view(notify, channel="nothing_notifies_here") as deaf:
        before = notify.order_event(PLACED, account_id=ERIKA, email=notify.new_address())
        assert not view.accepts(before)
        assert not deaf.accepts(before)

        created = await notify.client.post("/rules", headers=notify.admin_headers(), json={
            "event_type": PLACED, "template_key": "ticketing-order-confirmed",
            "channels": ["inbox"]})
        assert created.status_code == 201, created.text

        after = notify.order_event(PLACED, account_id=ERIKA, email=notify.new_address())
        await until(lambda: view.accepts(after) and view.loaded)
        assert not deaf.accepts(after)
        await _consume(notify, kafka_bootstrap, [after], view.accepts)
        assert await notify.deliveries(after.id)
        # Another tenant has no such rule: its events are still skipped.
        assert not view.accepts(notify.order_event(PLACED, account_id=ERIKA,
                                                   tenant="beispielhausen"))


async def test_a_lost_listening_connection_lets_events_through_until_current_again(
    notify: Any,
) -> None:
    """The listening backend is terminated (a database restart or failover for the view);
    while it is gone the view cannot hear of changes, so it accepts everything; it reconnects
    and reads again on its own, and then sees a rule created in the meantime."""
    async with running_view(notify) as view:
        unmatched = notify.order_event(PLACED, account_id=ERIKA)
        assert not view.accepts(unmatched)
        killed = await notify.scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = :name", name=VIEW_APPLICATION_NAME)
        assert killed >= 1
        created = await notify.client.post("/rules", headers=notify.admin_headers(), json={
            "event_type": PLACED, "template_key": "ticketing-order-confirmed",
            "channels": ["inbox"]})
        assert created.status_code == 201, created.text

        await until(lambda: view.loaded)
        assert view.accepts(unmatched)  # re-read after the reconnect, with the new rule


async def test_the_worker_wires_the_view_to_the_citizen_topics_only(notify: Any) -> None:
    view = RuleView("postgresql://unused")
    subscriptions = build_subscriptions(notify.settings, view)
    filtered = {s.topic for s in subscriptions if s.accepts is not None}
    assert filtered == set(CITIZEN_TOPICS)
    assert all(s.accepts is None for s in build_subscriptions(notify.settings))
