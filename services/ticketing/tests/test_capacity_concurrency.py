"""No overbooking under real concurrency: 500 citizens buy at the same moment through the API
and exactly the free places are sold, for a slot and for a quota. Negative controls replace
the guarded reservation by a read-then-write one and show that the same checks catch the
overbooking it causes. The app admits every buyer at once (``max_in_flight``) and lets them wait for
a connection: the point is the capacity guard under the most concurrency, not the admission
control and pool timeout in front of it (which answer excess buyers 503 fast;
``shared/tests/test_admission*.py``)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing_service import capacity

BUYERS = 500
SLOT_CAPACITY = 100
QUOTA_BUYERS = 60
#: Connections of the app under test (twice that with the pool's overflow).
POOL_SIZE = 50
#: Settings of the app under test: every buyer in the order path at once, waiting for a
#: connection as long as it takes (a loaded machine serves 500 buyers in several seconds).
APP = {"database_pool_size": POOL_SIZE, "max_in_flight": BUYERS,
       "database_pool_timeout_seconds": 120.0}


async def buy_at_once(t: Any, ticket_type: uuid.UUID, slot: uuid.UUID,
                      buyers: int) -> list[httpx.Response]:
    """``buyers`` different citizens each order one ticket, all requests in flight at once."""
    headers = [{**t.citizen_headers(uuid.uuid4()), "Idempotency-Key": str(uuid.uuid4())}
               for _ in range(buyers)]
    body = {"lines": [{"ticket_type_id": str(ticket_type), "slot_id": str(slot),
                       "quantity": 1}], "email": "buyer@example.org"}
    return await asyncio.gather(*(t.client.post("/orders", json=body, headers=h)
                                  for h in headers))


async def outcome(t: Any, slot: uuid.UUID, responses: list[httpx.Response]) -> dict[str, Any]:
    """What the buyers and the database say was sold."""
    statuses = Counter(r.status_code for r in responses)
    codes = Counter(r.json().get("code") for r in responses if r.status_code != 201)
    return {
        "accepted": statuses[201],
        "sold_out": codes["sold_out"],
        "others": {s: n for s, n in statuses.items() if s not in (201, 409)},
        "held": await t.scalar("SELECT held FROM slots WHERE id = :id", id=slot),
        "ordered": await t.scalar(
            "SELECT coalesce(sum(quantity * places), 0) FROM order_lines WHERE slot_id = :id",
            id=slot),
        "quota_held": await t.scalar(
            "SELECT coalesce(sum(held), 0) FROM slot_quota_usage WHERE slot_id = :id", id=slot),
    }


def assert_sold_exactly(result: dict[str, Any], places: int, buyers: int) -> None:
    assert result["others"] == {}, result
    assert result["accepted"] == places, result
    assert result["sold_out"] == buyers - places, result
    assert result["ordered"] == places, result


@pytest.mark.parametrize("run", [1, 2, 3])
async def test_500_concurrent_buyers_get_exactly_the_100_places(
    ticketing_app: Any, run: int
) -> None:
    async with ticketing_app(**APP) as t:
        demo = await t.demo()
        slot = await t.add_slot(demo.exhibition, starts_at=t.next_weekday_at(12, days_ahead=2),
                                capacity=SLOT_CAPACITY)

        responses = await buy_at_once(t, demo.museum_adult, slot, BUYERS)

        result = await outcome(t, slot, responses)
        assert_sold_exactly(result, SLOT_CAPACITY, BUYERS)
        assert result["held"] == SLOT_CAPACITY
        problem = next(r.json() for r in responses if r.status_code == 409)
        assert problem["slot_id"] == str(slot)
        assert problem["places_left"] == 0
        assert problem["ticket_type_ids"] == [str(demo.museum_adult)]
        assert await t.scalar("SELECT count(*) FROM orders") == SLOT_CAPACITY
        assert len(await t.outbox("city.payment.request.v1")) == SLOT_CAPACITY
        # Written before the hold: a buyer refused at the hold leaves no event behind.
        assert len(await t.outbox("city.ticketing.order.placed.v1")) == SLOT_CAPACITY


async def _read_then_write_slot(session: AsyncSession, slot_id: uuid.UUID, places: int) -> bool:
    """The bug the guard prevents: check on a read, then write the computed value."""
    row = (await session.execute(text(
        "SELECT held, sold, capacity FROM slots WHERE id = :id AND status = 'open'"),
        {"id": slot_id})).one_or_none()
    if row is None or row.held + row.sold + places > row.capacity:
        return False
    await session.execute(text("UPDATE slots SET held = :new WHERE id = :id"),
                          {"new": row.held + places, "id": slot_id})
    return True


async def test_negative_control_a_read_then_write_reservation_overbooks_and_is_caught(
    ticketing_app: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with ticketing_app(**APP) as t:
        demo = await t.demo()
        slot = await t.add_slot(demo.exhibition, starts_at=t.next_weekday_at(12, days_ahead=2),
                                capacity=SLOT_CAPACITY)
        async with t.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE slots DROP CONSTRAINT ck_slots_within_capacity"))
        monkeypatch.setattr(capacity, "reserve_slot", _read_then_write_slot)

        responses = await buy_at_once(t, demo.museum_adult, slot, BUYERS)

        result = await outcome(t, slot, responses)
        with pytest.raises(AssertionError):
            assert_sold_exactly(result, SLOT_CAPACITY, BUYERS)
        assert result["accepted"] > SLOT_CAPACITY, result
        assert result["ordered"] > SLOT_CAPACITY, result
        # Lost updates: the counter no longer says how many places the orders hold.
        assert result["held"] != result["ordered"], result


async def test_concurrent_reduced_tickets_never_exceed_the_quota_of_10(ticketing_app: Any) -> None:
    async with ticketing_app(**APP) as t:
        demo = await t.demo()
        slot = await t.add_slot(demo.exhibition, starts_at=t.next_weekday_at(12, days_ahead=2),
                                capacity=SLOT_CAPACITY)

        responses = await buy_at_once(t, demo.museum_reduced, slot, QUOTA_BUYERS)

        result = await outcome(t, slot, responses)
        assert_sold_exactly(result, 10, QUOTA_BUYERS)
        assert (result["held"], result["quota_held"]) == (10, 10)
        problem = next(r.json() for r in responses if r.status_code == 409)
        assert problem["quota_id"] == str(demo.reduced_quota)
        assert (problem["places_left"], problem["places_requested"]) == (0, 1)


async def _no_slot_guard(session: AsyncSession, slot_id: uuid.UUID, places: int) -> bool:
    return True


async def _read_then_write_quota(session: AsyncSession, slot_id: uuid.UUID,
                                 quota_id: uuid.UUID, places: int) -> bool:
    params = {"slot": slot_id, "quota": quota_id}
    await session.execute(text(
        "INSERT INTO slot_quota_usage (slot_id, quota_id) VALUES (:slot, :quota) "
        "ON CONFLICT DO NOTHING"), params)
    row = (await session.execute(text(
        "SELECT u.held, u.sold, q.capacity FROM slot_quota_usage u JOIN quotas q "
        "ON q.id = u.quota_id WHERE u.slot_id = :slot AND u.quota_id = :quota"),
        params)).one()
    if row.held + row.sold + places > row.capacity:
        return False
    await session.execute(text(
        "UPDATE slot_quota_usage SET held = :new WHERE slot_id = :slot AND quota_id = :quota"),
        {**params, "new": row.held + places})
    return True


async def test_negative_control_a_read_then_write_quota_overbooks_and_is_caught(
    ticketing_app: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The slot's guarded UPDATE locks the slot row, which alone would serialise the quota
    # updates of one slot: the control takes it out so the quota check stands on its own.
    async with ticketing_app(**APP) as t:
        demo = await t.demo()
        slot = await t.add_slot(demo.exhibition, starts_at=t.next_weekday_at(12, days_ahead=2),
                                capacity=SLOT_CAPACITY)
        monkeypatch.setattr(capacity, "reserve_slot", _no_slot_guard)
        monkeypatch.setattr(capacity, "reserve_quota", _read_then_write_quota)

        responses = await buy_at_once(t, demo.museum_reduced, slot, QUOTA_BUYERS)

        result = await outcome(t, slot, responses)
        with pytest.raises(AssertionError):
            assert_sold_exactly(result, 10, QUOTA_BUYERS)
        assert result["accepted"] > 10, result
        assert result["ordered"] > 10, result
