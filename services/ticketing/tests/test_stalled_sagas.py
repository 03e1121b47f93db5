"""Stalled purchase sagas are visible on ``/readyz`` and in the gauge ``city_stalled_sagas``: an
unpaid order whose checkout page never came, and one whose hold ran out without the expiry job
closing it. A stall is detail: ``/readyz`` stays 200."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import text

from ticketing_service.orders.stalls import stalled_order_queries


def gauge(kind: str) -> float | None:
    return REGISTRY.get_sample_value("city_stalled_sagas", {"service": "ticketing", "kind": kind})


async def place(t: Any, ticket_type: uuid.UUID, slot: uuid.UUID) -> uuid.UUID:
    body = {"lines": [{"ticket_type_id": str(ticket_type), "slot_id": str(slot), "quantity": 1}],
            "email": "erika@example.org"}
    # A buyer each: one account holds at most two unpaid orders of an offering.
    headers = {**t.citizen_headers(uuid.uuid4()), "Idempotency-Key": str(uuid.uuid4())}
    response = await t.client.post("/orders", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "awaiting_payment"
    return uuid.UUID(response.json()["order_id"])


_AGE = text(
    "UPDATE orders SET placed_at = coalesce(now() - make_interval(secs => :placed), placed_at),"
    " hold_expires_at = coalesce(now() - make_interval(secs => :hold), hold_expires_at),"
    " checkout_url = CASE WHEN :checkout THEN 'https://payment.test/pay/1' ELSE checkout_url END"
    " WHERE id = :id")


async def age(t: Any, order_id: uuid.UUID, *, placed: float | None = None,
              hold_expired: float | None = None, checkout: bool = False) -> None:
    """Move an order's clock back (``placed`` / ``hold_expired``: seconds ago) and give it a
    checkout page if ``checkout``."""
    async with t.engine.begin() as conn:
        updated = await conn.execute(_AGE, {"id": order_id, "placed": placed,
                                            "hold": hold_expired, "checkout": checkout})
    assert updated.rowcount == 1


async def test_readyz_and_the_gauge_show_stalled_orders_and_stay_ready(ticketing: Any) -> None:
    demo = await ticketing.demo()
    adult, slot = demo.museum_adult, demo.exhibition_slot
    await place(ticketing, adult, slot)  # fresh: neither kind
    no_checkout = await place(ticketing, adult, slot)
    paying = await place(ticketing, adult, slot)
    past_hold = await place(ticketing, adult, slot)
    await age(ticketing, no_checkout, placed=120)
    await age(ticketing, paying, placed=120, checkout=True)
    await age(ticketing, past_hold, placed=1200, hold_expired=300, checkout=True)

    response = await ticketing.client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "database": "up",
        "stalled_sagas": {"order_without_checkout": 1, "order_past_hold": 1},
    }
    assert gauge("order_without_checkout") == 1
    assert gauge("order_past_hold") == 1


async def test_an_order_within_its_thresholds_is_not_stalled(ticketing: Any) -> None:
    demo = await ticketing.demo()
    recent = await place(ticketing, demo.museum_adult, demo.exhibition_slot)
    just_expired = await place(ticketing, demo.museum_adult, demo.exhibition_slot)
    await age(ticketing, recent, placed=10)
    await age(ticketing, just_expired, hold_expired=10, checkout=True)

    response = await ticketing.client.get("/readyz")

    assert response.json()["stalled_sagas"] == {"order_without_checkout": 0, "order_past_hold": 0}
    assert gauge("order_without_checkout") == 0
    assert gauge("order_past_hold") == 0


async def test_thresholds_come_from_the_settings(ticketing_app: Any) -> None:
    async with ticketing_app(stalled_checkout_seconds=5, stalled_hold_grace_seconds=5) as t:
        demo = await t.demo()
        order = await place(t, demo.museum_adult, demo.exhibition_slot)
        await age(t, order, placed=10, hold_expired=10)

        response = await t.client.get("/readyz")

    assert response.json()["stalled_sagas"] == {"order_without_checkout": 1, "order_past_hold": 1}


async def test_each_count_reads_a_partial_index_of_unpaid_orders(ticketing: Any) -> None:
    """Never the whole orders table: with sequential scans off, each kind's query still plans
    on its partial index (it could not if the query's predicate did not match the index's)."""
    queries = stalled_order_queries(ticketing.settings, datetime.now(UTC))
    async with ticketing.engine.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))
        plans = {}
        for kind, query in queries.items():
            explained = await conn.execute(explain(query, ticketing.engine.dialect))
            plans[kind] = "\n".join(row[0] for row in explained.all())

    assert "ix_orders_awaiting_checkout" in plans["order_without_checkout"]
    assert "ix_orders_holds_due" in plans["order_past_hold"]


def explain(query: Any, dialect: Any) -> Any:
    compiled = query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return text(f"EXPLAIN {compiled}")
