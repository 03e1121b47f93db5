"""The capacity counters on their own: holds become sales or go back, a closed slot takes no
hold, bookkeeping errors are loud, and baskets over the same slots in opposite orders do not
deadlock."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from ticketing_service import capacity
from ticketing_service.capacity import CapacityInconsistent, Places


async def counts(t: Any, slot: uuid.UUID) -> tuple[int, int]:
    [row] = await t.rows("SELECT held, sold FROM slots WHERE id = :id", id=slot)
    return row.held, row.sold


async def test_held_places_are_sold_then_released(ticketing: Any) -> None:
    demo = await ticketing.demo()
    slot, quota = demo.exhibition_slot, demo.reduced_quota
    places = Places({slot: 3}, {(slot, quota): 2})

    async with ticketing.sessions() as session, session.begin():
        assert await capacity.hold(session, places) is None
    assert await counts(ticketing, slot) == (3, 0)
    async with ticketing.sessions() as session, session.begin():
        await capacity.sell(session, places)
    assert await counts(ticketing, slot) == (0, 3)
    assert await ticketing.scalar(
        "SELECT sold FROM slot_quota_usage WHERE slot_id = :s", s=slot) == 2
    async with ticketing.sessions() as session, session.begin():
        await capacity.release_sold(session, places)
    assert await counts(ticketing, slot) == (0, 0)

    with pytest.raises(CapacityInconsistent):  # nothing is sold any more
        async with ticketing.sessions() as session, session.begin():
            await capacity.release_sold(session, places)
    assert await counts(ticketing, slot) == (0, 0)


async def test_a_shortage_names_the_slot_or_quota_and_a_closed_slot_holds_nothing(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    slot, quota = demo.exhibition_slot, demo.reduced_quota

    async with ticketing.sessions() as session, session.begin():
        shortage = await capacity.hold(session, Places({slot: 41}))
    assert shortage == capacity.Shortage(slot, None, 41, 40)
    async with ticketing.sessions() as session:
        shortage = await capacity.hold(session, Places({slot: 11}, {(slot, quota): 11}))
        await session.rollback()  # the caller's duty: the slot's 11 were held already
    assert shortage == capacity.Shortage(slot, quota, 11, 10)

    async with ticketing.engine.begin() as conn:
        await conn.execute(text("UPDATE slots SET status = 'closed' WHERE id = :s"), {"s": slot})
    async with ticketing.sessions() as session, session.begin():
        shortage = await capacity.hold(session, Places({slot: 1}))
    assert shortage == capacity.Shortage(slot, None, 1, 0)
    assert await counts(ticketing, slot) == (0, 0)


async def test_baskets_over_two_slots_in_opposite_orders_do_not_deadlock(
    ticketing_app: Any,
) -> None:
    async with ticketing_app(database_pool_size=30) as t:
        demo = await t.demo()
        museum = await t.add_slot(demo.exhibition, starts_at=t.next_weekday_at(11, days_ahead=2),
                                  capacity=500)
        pool = await t.add_slot(demo.indoor_pool, starts_at=t.next_weekday_at(11, days_ahead=2),
                                capacity=500)
        museum_line = {"ticket_type_id": str(demo.museum_adult), "slot_id": str(museum),
                       "quantity": 1}
        pool_line = {"ticket_type_id": str(demo.pool_adult), "slot_id": str(pool),
                     "quantity": 1}

        async def buy(i: int) -> int:
            lines = [museum_line, pool_line] if i % 2 else [pool_line, museum_line]
            response = await t.client.post(
                "/orders", json={"lines": lines, "email": "b@example.org"},
                headers={**t.citizen_headers(uuid.uuid4()), "Idempotency-Key": str(uuid.uuid4())})
            return response.status_code

        statuses = await asyncio.gather(*(buy(i) for i in range(120)))

        assert statuses == [201] * 120
        assert await counts(t, museum) == (120, 0)
        assert await counts(t, pool) == (120, 0)


async def _manager_reached_the_quota(t: Any, shrink: asyncio.Task[Any]) -> None:
    """Wait until the manager's request has either finished (nothing stopped it) or waits for
    a lock in the database (the buyer's transaction holds it): a fixed sleep raced a loaded
    machine, where the request had not reached the row yet when the buyer committed."""
    for _ in range(300):
        if shrink.done():
            return
        if await t.scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                          "AND datname = current_database()"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the manager's request neither finished nor waited for the buyer")


async def _shrink_while_a_reservation_is_in_flight(t: Any) -> tuple[int, int]:
    """A buyer's transaction holds all 10 places of the reduced quota and has not committed
    when a manager shrinks the quota to 5; then the buyer commits. Returns the manager's HTTP
    status and the places the quota's usage holds afterwards."""
    demo = await t.demo()
    # The slot already sold from this quota before (else the buyer's INSERT of the usage row
    # would lock the quota through its foreign key and hide the race).
    async with t.sessions() as earlier, earlier.begin():
        await earlier.execute(text("INSERT INTO slot_quota_usage (slot_id, quota_id) "
                                   "VALUES (:s, :q)"),
                              {"s": demo.exhibition_slot, "q": demo.reduced_quota})
    async with t.sessions() as buyer:
        await buyer.begin()
        assert await capacity.reserve_quota(buyer, demo.exhibition_slot, demo.reduced_quota, 10)
        shrink = asyncio.create_task(t.client.patch(
            f"/quotas/{demo.reduced_quota}", json={"capacity": 5},
            headers=t.manager_headers()))
        await _manager_reached_the_quota(t, shrink)
        await buyer.commit()
    response = await shrink
    held = await t.scalar("SELECT held FROM slot_quota_usage WHERE slot_id = :s",
                          s=demo.exhibition_slot)
    return response.status_code, held


async def test_a_quota_is_not_shrunk_below_a_reservation_in_flight(ticketing: Any) -> None:
    status, held = await _shrink_while_a_reservation_is_in_flight(ticketing)
    assert (status, held) == (409, 10)  # the manager waited for the buyer and saw the 10
    assert await ticketing.scalar("SELECT capacity FROM quotas") == 10


async def test_negative_control_without_the_share_lock_the_quota_ends_overbooked(
    ticketing: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    unlocked = text(
        "UPDATE slot_quota_usage AS u SET held = u.held + :n FROM quotas AS q "
        "WHERE u.slot_id = :slot AND u.quota_id = :quota AND q.id = u.quota_id "
        "AND u.held + u.sold + :n <= q.capacity RETURNING u.held")
    monkeypatch.setattr(capacity, "_RESERVE_QUOTA", unlocked)
    status, held = await _shrink_while_a_reservation_is_in_flight(ticketing)
    assert (status, held) == (200, 10)  # shrunk to 5 while 10 are held: the bug the lock stops
    assert await ticketing.scalar("SELECT capacity FROM quotas") == 5
