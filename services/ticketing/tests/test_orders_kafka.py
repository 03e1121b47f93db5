"""Through real Kafka: payment's answers, published on ``payment.payments`` as payment's relay
sends them, reach the ticketing consumer, which confirms the order once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from city_shared.envelope import Event, new_event
from city_shared.testing import consuming, publish
from city_shared.topics import TopicSpec, ensure_topics
from ticketing_service.subscriptions import build_subscriptions

PAYMENTS = "payment.payments"
DEAD_LETTERS = "ticketing.deadletters"


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


def payment_event(kind: str, order: dict[str, Any], payment_id: str, **extra: Any) -> Event:
    data = {"payment_id": payment_id, "tenant": order["tenant"], "source": "ticketing",
            "reference": order["reference"], "amount": order["total"], "currency": "EUR",
            "status": kind, "reason": None, **extra}
    return new_event(type=f"city.payment.payment.{kind}.v1", source="/payment",
                     subject=payment_id, tenant=order["tenant"], data=_Data(**data))


async def test_a_payment_success_through_kafka_confirms_the_order_once(
    ticketing: Any, kafka_bootstrap: str
) -> None:
    demo = await ticketing.demo()
    response = await ticketing.client.post(
        "/orders", json={"lines": [{"ticket_type_id": str(demo.museum_adult),
                                    "slot_id": str(demo.exhibition_slot), "quantity": 2}],
                         "email": "erika@example.org"},
        headers={**ticketing.citizen_headers(), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    order = response.json()
    payment_id = str(uuid.uuid4())
    created = payment_event("created", order, payment_id, description="Tickets",
                            next_url="http://payment.test/sandbox/pay/sbx_1",
                            expires_at=datetime.now(UTC).isoformat())
    succeeded = payment_event("succeeded", order, payment_id, line_items=[
        {"department": "museum", "cost_centre": "MUS-4100", "amount": 1600}])
    elsewhere = payment_event("succeeded", {**order, "reference": "case/case/1"}, payment_id,
                              source="case")

    subscriptions = build_subscriptions(ticketing.settings)
    await ensure_topics(kafka_bootstrap, [
        *(TopicSpec(t) for t in sorted({s.topic for s in subscriptions})),
        TopicSpec(DEAD_LETTERS, partitions=1, retention_ms=-1)])
    await publish(kafka_bootstrap, PAYMENTS, (created, elsewhere, succeeded, succeeded))
    async with consuming(kafka_bootstrap, ticketing.sessions, subscriptions,
                         dead_letter_topic=DEAD_LETTERS) as task:  # last event: a redelivery
        status = "awaiting_payment"
        for _ in range(300):
            status = await ticketing.scalar("SELECT status FROM orders WHERE id = :id",
                                            id=order["order_id"])
            handled = await ticketing.scalar(
                "SELECT count(*) FROM inbox WHERE event_id IN (:a, :b)",
                a=created.id, b=succeeded.id)
            if status == "confirmed" and handled == 2:
                break
            assert not task.done(), task
            await asyncio.sleep(0.2)
        assert status == "confirmed"
    # Case's payment, read before the success (same key, same partition), was turned down by
    # the subscription's filter before any transaction: no inbox row.
    assert await ticketing.scalar("SELECT count(*) FROM inbox WHERE event_id = :id",
                                  id=elsewhere.id) == 0

    assert await ticketing.scalar("SELECT count(*) FROM tickets WHERE order_id = :id",
                                  id=order["order_id"]) == 2
    assert await ticketing.scalar("SELECT payment_id::text FROM orders WHERE id = :id",
                                  id=order["order_id"]) == payment_id
    assert await ticketing.scalar("SELECT held || '/' || sold FROM slots WHERE id = :id",
                                  id=demo.exhibition_slot) == "0/2"
    [confirmed] = await ticketing.outbox("city.ticketing.order.confirmed.v1")
    assert confirmed.attributes["causationid"] == str(succeeded.id)
