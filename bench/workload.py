"""The events the benchmarks write: ticketing orders of ~300 bytes of JSON over many aggregates.

Each event is built like a service builds it (:func:`city_shared.envelope.new_event` inside a
request span, so it carries a ``traceparent``) and stored like :func:`city_shared.outbox.add`
stores it, but in bulk.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from opentelemetry import trace
from pydantic import BaseModel
from sqlalchemy import MetaData

from city_shared.backbone import attach_backbone_tables
from city_shared.db import create_engine
from city_shared.envelope import Event, new_event

EVENT_TYPE = "city.ticketing.order.placed.v1"
SOURCE = "/ticketing"
_tracer = trace.get_tracer("bench")
_OUTBOX, _, _ = attach_backbone_tables(MetaData())


class OrderLine(BaseModel):
    slot_id: str
    ticket_type: str
    quantity: int
    unit_price_cents: int


class OrderPlaced(BaseModel):
    """The payload: a realistic order with two lines (about 300 bytes as compact JSON)."""

    order_id: str
    customer_ref: str
    lines: list[OrderLine]
    total_cents: int
    currency: str
    expires_at: str
    seq: int


def aggregate_ids(count: int, rng: random.Random) -> list[str]:
    return [f"order-{rng.getrandbits(48):012x}" for _ in range(count)]


def order_placed(aggregate: str, seq: int, rng: random.Random) -> Event:
    """One ``order.placed`` event for ``aggregate``, built inside its own request span."""
    lines = [
        OrderLine(slot_id=f"slot-{rng.getrandbits(40):010x}", ticket_type=kind,
                  quantity=rng.randint(1, 4), unit_price_cents=price)
        for kind, price in (("adult", 1300), ("reduced", 700))
    ]
    data = OrderPlaced(
        order_id=aggregate,
        customer_ref=f"acct-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}",
        lines=lines,
        total_cents=sum(line.quantity * line.unit_price_cents for line in lines),
        currency="EUR",
        expires_at=(datetime.now(UTC) + timedelta(minutes=15)).isoformat(timespec="seconds"),
        seq=seq,
    )
    with _tracer.start_as_current_span("POST /orders"):
        return new_event(type=EVENT_TYPE, source=SOURCE, subject=aggregate,
                         tenant="musterstadt", department="museum", data=data)


def make_events(count: int, aggregates: int, seed: int = 2) -> list[Event]:
    """``count`` events spread round-robin-at-random over ``aggregates`` aggregates."""
    rng = random.Random(seed)
    ids = aggregate_ids(aggregates, rng)
    return [order_placed(rng.choice(ids), seq, rng) for seq in range(count)]


def outbox_row(topic: str, event: Event) -> dict[str, object]:
    """The row :func:`city_shared.outbox.add` would insert for ``event``."""
    return {
        "event_id": event.id,
        "topic": topic,
        "key": event.subject,
        "event_type": event.type,
        "attributes": event.model_dump(mode="json", exclude={"data"}, exclude_none=True),
        "data": event.data,
    }


async def bulk_insert(url: str, topic: str, events: list[Event], transactions: int = 4) -> None:
    """Insert ``events`` into the outbox in ``transactions`` transactions, then ANALYZE it."""
    engine = create_engine(url, pool_size=1)
    try:
        chunk = -(-len(events) // transactions)
        for start in range(0, len(events), chunk):
            rows = [outbox_row(topic, event) for event in events[start:start + chunk]]
            async with engine.begin() as conn:
                await conn.execute(_OUTBOX.insert(), rows)
        async with engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE outbox")
            await conn.commit()
    finally:
        await engine.dispose()
