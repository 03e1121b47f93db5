"""The API process remembers a slot it saw with no place left for a second and refuses orders
for it from memory: the same 409 ``sold_out`` problem, without reading the catalogue or
locking anything. The memory may be stale by at most its TTL (a freed place sells again once
it ran out), never sells anything, and comes after the Idempotency-Key's claim: a replay of an
order that succeeded is still answered with its stored 201."""

from __future__ import annotations

import uuid
from typing import Any

from city_shared.testing import executed_statements
from ticketing_service.orders.sold_out import TTL_SECONDS, SoldOutSlots

#: What the Idempotency-Key's claim reads (the middleware, before the route).
CLAIM = ("pg_try_advisory_xact_lock", "FROM idempotency_keys")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def remembering(t: Any, ttl: float = TTL_SECONDS) -> Clock:
    """Give the app a memory on a clock the test moves."""
    clock = Clock()
    t.app.state.sold_out_slots = SoldOutSlots(ttl=ttl, clock=clock)
    return clock


async def order(t: Any, type_id: uuid.UUID, slot: uuid.UUID, *, quantity: int = 1,
                key: str | None = None, buyer: uuid.UUID | None = None) -> Any:
    return await t.client.post("/orders", json={"lines": [
        {"ticket_type_id": str(type_id), "slot_id": str(slot), "quantity": quantity}]},
        headers={**t.citizen_headers(buyer or uuid.uuid4()),
                 "Idempotency-Key": key or str(uuid.uuid4())})


async def full_slot(t: Any, demo: Any, *, key: str | None = None) -> uuid.UUID:
    """A slot of 1 place, sold (to the order with ``key``)."""
    slot: uuid.UUID = await t.add_slot(
        demo.exhibition, starts_at=t.next_weekday_at(12, days_ahead=2), capacity=1)
    placed = await order(t, demo.museum_adult, slot, key=key)
    assert placed.status_code == 201, placed.text
    return slot


def assert_sold_out(response: Any, slot: uuid.UUID, requested: int) -> None:
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["code"] == "sold_out"
    assert (problem["slot_id"], problem["places_left"], problem["places_requested"]) == (
        str(slot), 0, requested)


async def test_a_slot_seen_sold_out_is_refused_without_reading_the_catalogue(
        ticketing: Any) -> None:
    remembering(ticketing)
    demo = await ticketing.demo()
    slot = await full_slot(ticketing, demo)
    first = await order(ticketing, demo.museum_adult, slot)  # reads the slot: full
    assert_sold_out(first, slot, 1)

    with executed_statements() as seen:
        second = await order(ticketing, demo.museum_adult, slot, quantity=2)

    assert_sold_out(second, slot, 2)
    assert second.json()["ticket_type_ids"] == [str(demo.museum_adult)]
    assert len(seen) == len(CLAIM), seen
    assert all(c in s for s, c in zip(seen, CLAIM, strict=True)), seen


async def test_negative_control_without_the_memory_every_refusal_reads_the_catalogue(
        ticketing: Any) -> None:
    remembering(ticketing, ttl=0.0)  # remembers nothing
    demo = await ticketing.demo()
    slot = await full_slot(ticketing, demo)
    assert_sold_out(await order(ticketing, demo.museum_adult, slot), slot, 1)

    with executed_statements() as seen:
        second = await order(ticketing, demo.museum_adult, slot)

    assert_sold_out(second, slot, 1)
    assert any("FROM unnest" in s and "slots" in s for s in seen), seen


async def test_a_place_freed_meanwhile_sells_once_the_memory_ran_out(ticketing: Any) -> None:
    clock = remembering(ticketing)
    demo = await ticketing.demo()
    slot = await full_slot(ticketing, demo)
    assert_sold_out(await order(ticketing, demo.museum_adult, slot), slot, 1)
    await ticketing.execute("UPDATE slots SET capacity = 2 WHERE id = :s", s=slot)

    still = await order(ticketing, demo.museum_adult, slot)  # stale for at most the TTL
    clock.now += TTL_SECONDS
    sold = await order(ticketing, demo.museum_adult, slot)

    assert_sold_out(still, slot, 1)
    assert sold.status_code == 201, sold.text
    assert await ticketing.scalar("SELECT held FROM slots WHERE id = :s", s=slot) == 2


async def test_a_family_ticket_refused_from_memory_counts_its_places(ticketing: Any) -> None:
    remembering(ticketing)
    demo = await ticketing.demo()
    slot = await ticketing.add_slot(demo.indoor_pool, capacity=1,
                                    starts_at=ticketing.next_weekday_at(12, days_ahead=2))
    assert (await order(ticketing, demo.pool_adult, slot)).status_code == 201
    assert_sold_out(await order(ticketing, demo.pool_family, slot), slot, 4)

    assert_sold_out(await order(ticketing, demo.pool_family, slot, quantity=2), slot, 8)


async def test_a_quota_used_up_is_not_remembered_as_a_sold_out_slot(ticketing: Any) -> None:
    remembering(ticketing)
    demo = await ticketing.demo()
    reduced = await order(ticketing, demo.museum_reduced, demo.exhibition_slot, quantity=10)
    assert reduced.status_code == 201, reduced.text
    refused = await order(ticketing, demo.museum_reduced, demo.exhibition_slot)
    assert refused.status_code == 409
    assert refused.json()["quota_id"] == str(demo.reduced_quota)

    adult = await order(ticketing, demo.museum_adult, demo.exhibition_slot)

    assert adult.status_code == 201, adult.text


async def test_a_replay_of_the_order_that_took_the_last_place_still_gets_its_201(
        ticketing: Any) -> None:
    remembering(ticketing)
    demo = await ticketing.demo()
    key = str(uuid.uuid4())
    buyer = uuid.uuid4()
    slot = await ticketing.add_slot(demo.exhibition, capacity=1,
                                    starts_at=ticketing.next_weekday_at(12, days_ahead=2))
    placed = await order(ticketing, demo.museum_adult, slot, key=key, buyer=buyer)
    assert placed.status_code == 201, placed.text
    assert_sold_out(await order(ticketing, demo.museum_adult, slot), slot, 1)

    replay = await order(ticketing, demo.museum_adult, slot, key=key, buyer=buyer)

    assert replay.status_code == 201, replay.text
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["order_id"] == placed.json()["order_id"]
    assert await ticketing.scalar("SELECT count(*) FROM orders WHERE id IN (SELECT order_id "
                                  "FROM order_lines WHERE slot_id = :s)", s=slot) == 1
