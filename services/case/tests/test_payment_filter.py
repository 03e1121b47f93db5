"""Other services' payments on ``payment.payments`` are turned down in memory, before any
transaction: no statement, no inbox row, and the offset is committed; a case's own payment is
still handled; data that does not validate still reaches the handler (a dead letter).

The consumer here is the shared one on real Kafka, on a topic of its own, with the worker's
payment subscriptions (handlers and filters as :func:`build_subscriptions` wires them).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy import event as sa_event

from case_service.subscriptions import build_subscriptions
from city_shared.consumer import Subscription
from city_shared.envelope import Event
from city_shared.testing import consuming, publish
from city_shared.topics import TopicSpec, ensure_topics

from .conftest import CaseHarness
from .test_cases_payment import answer, deliver, read, submitted_case

PAYMENTS = "payment.payments"


async def _committed(bootstrap: str, group_prefix: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups()]
        total = 0
        for group in groups:
            if not str(group).startswith(group_prefix):
                continue
            offsets = await admin.list_consumer_group_offsets(group)
            total += sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic)
        return total
    except KafkaError:  # the group's coordinator is not there yet
        return -1
    finally:
        await admin.close()


async def _consume(h: CaseHarness, bootstrap: str, events: list[Event], *,
                   filtered: bool) -> list[str]:
    """Publish ``events`` to a new one-partition topic and consume them with the worker's
    payment subscriptions (without their filters unless ``filtered``) until every offset is
    committed; returns the statements the consumer sent to the database."""
    topic = f"test.case.payments.{uuid.uuid4().hex[:10]}"
    dlq = f"{topic}.dlq"
    await ensure_topics(bootstrap, [TopicSpec(topic, partitions=1), TopicSpec(dlq, 1)])
    await publish(bootstrap, topic, events)
    subscriptions = [
        Subscription(topic, s.event_type, s.handler, accepts=s.accepts if filtered else None)
        for s in build_subscriptions(h.settings) if s.topic == PAYMENTS]
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append(f"{statement} {parameters}")

    def began(conn: Any) -> None:
        statements.append("BEGIN")

    sync_engine = h.engine.sync_engine
    sa_event.listen(sync_engine, "before_cursor_execute", seen)
    sa_event.listen(sync_engine, "begin", began)
    try:
        async with consuming(bootstrap, h.sessions, subscriptions,
                             dead_letter_topic=dlq) as task:
            for _ in range(300):  # up to 60 s: joining the group takes a few seconds
                if await _committed(bootstrap, "test-", topic) == len(events):
                    break
                assert not task.done(), task
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("offsets not committed in time")
    finally:
        sa_event.remove(sync_engine, "before_cursor_execute", seen)
        sa_event.remove(sync_engine, "begin", began)
    return statements


def _mentioning(statements: list[str], event: Event) -> list[str]:
    return [s for s in statements if str(event.id) in s]


async def _inbox_has(h: CaseHarness, event: Event) -> bool:
    return bool(await h.scalar("SELECT count(*) FROM inbox WHERE event_id = :id", id=event.id))


def _ticketing_payment(kind: str) -> Event:
    """A well-formed payment event of ticketing's, as payment publishes it."""
    order = uuid.uuid4()
    return answer(kind, {"id": str(uuid.uuid4()), "tenant": "musterstadt", "fee_amount": 1250},
                  source="ticketing", reference=f"ticketing/order/{order}")


async def test_a_ticketing_payment_costs_no_statement_and_a_case_payment_is_handled(
    case: CaseHarness, kafka_bootstrap: str,
) -> None:
    c = await submitted_case(case)
    foreign = _ticketing_payment("created")
    own = answer("created", c)

    statements = await _consume(case, kafka_bootstrap, [foreign, own], filtered=True)

    assert _mentioning(statements, foreign) == []
    assert not await _inbox_has(case, foreign)
    assert await _inbox_has(case, own)
    assert statements.count("BEGIN") == 1  # the own payment's transaction
    assert (await read(case, c))["payment"]["status"] == "pending"


async def test_without_the_filter_a_ticketing_payment_opens_a_transaction(
    case: CaseHarness, kafka_bootstrap: str,
) -> None:
    """Negative control: the same foreign payment without the filter is claimed in the inbox
    (a transaction and statements), though the handler skips it too."""
    foreign = _ticketing_payment("created")

    statements = await _consume(case, kafka_bootstrap, [foreign], filtered=False)

    assert await _inbox_has(case, foreign)
    assert statements.count("BEGIN") == 1
    assert _mentioning(statements, foreign)


@pytest.mark.parametrize("kind", ["created", "succeeded", "failed", "cancelled", "expired"])
async def test_every_payment_subscription_turns_down_exactly_other_services_payments(
    case: CaseHarness, kind: str,
) -> None:
    [sub] = [s for s in build_subscriptions(case.settings)
             if s.topic == PAYMENTS and s.event_type == f"city.payment.payment.{kind}.v1"]
    assert sub.accepts is not None
    mine = {"id": str(uuid.uuid4()), "tenant": "musterstadt", "fee_amount": 2400}
    assert sub.accepts(answer(kind, mine))
    assert not sub.accepts(_ticketing_payment(kind))
    # A case reference under another source is skipped by the handler too (it decides by the
    # source); a case source with a foreign reference goes on (the handler dead-letters it).
    assert not sub.accepts(answer(kind, mine, source="ticketing"))
    assert sub.accepts(answer(kind, mine, reference="ticketing/order/1"))
    # Data that does not validate passes, whatever its source: the handler dead-letters it.
    assert sub.accepts(answer(kind, mine, source="ticketing", amount="lots"))
    assert sub.accepts(answer(kind, mine, source=None))


@pytest.mark.parametrize("kind", ["succeeded", "failed"])
async def test_the_refund_subscriptions_turn_down_other_services_refunds(
    case: CaseHarness, kind: str,
) -> None:
    [sub] = [s for s in build_subscriptions(case.settings)
             if s.topic == PAYMENTS and s.event_type == f"city.payment.refund.{kind}.v1"]
    assert sub.accepts is not None
    mine = {"id": str(uuid.uuid4()), "tenant": "musterstadt", "fee_amount": 2400}
    refund: dict[str, Any] = {"refund_id": str(uuid.uuid4()), "refunded_amount": 2400}
    assert sub.accepts(answer(kind, mine, **refund))
    assert not sub.accepts(answer(kind, mine, source="ticketing", **refund))
    assert sub.accepts(answer(kind, mine, source="ticketing"))  # no refund_id: dead letter


async def test_a_malformed_foreign_payment_still_fails_validation(case: CaseHarness) -> None:
    """What the filter lets through for its data is refused by the handler as before: the
    consumer dead-letters a ``ValidationError`` at once."""
    malformed = answer("created", {"id": str(uuid.uuid4()), "tenant": "musterstadt",
                                   "fee_amount": 1}, source="ticketing", amount="lots")
    with pytest.raises(ValidationError):
        await deliver(case, malformed)
