"""Slots: generated from opening rules in the venue's time zone (right across both DST changes,
idempotent, in a few statements), listed for staff, added by hand, and overridden without
ever squeezing out places already held or sold."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, text

from ticketing_service.catalogue.models import SlotRule
from ticketing_service.catalogue.slots import plan_slots

BERLIN = ZoneInfo("Europe/Berlin")


async def _museum(h: Any, *, timezone: str = "Europe/Berlin") -> str:
    """A draft museum offering with the demo opening rule (Tue-Sun 10-18, 30 minutes, 40)."""
    venue = await h.post("/venues", {"department": "museum", "name": "Stadtmuseum",
                                       "timezone": timezone})
    offering = await h.post("/offerings", {
        "department": "museum", "cost_centre": "MUS-4100", "venue_id": venue["venue_id"],
        "kind": "timed", "name": "Dauerausstellung"})
    oid = str(offering["offering_id"])
    await h.post(f"/offerings/{oid}/rules", {
        "weekdays": [2, 3, 4, 5, 6, 7], "opens_at": "10:00", "closes_at": "18:00",
        "slot_minutes": 30, "capacity": 40, "valid_from": "2026-01-01"})
    return oid


async def _slots(h: Any, oid: str, first: str, last: str) -> list[dict[str, Any]]:
    response = await h.client.get(f"/offerings/{oid}/slots?from={first}&to={last}",
                                  headers=h.manager_headers())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _rule(opens: int, closes: int, minutes: int, weekdays: list[int] | None = None,
          capacity: int = 10) -> SlotRule:
    return SlotRule(weekdays=weekdays or [1, 2, 3, 4, 5, 6, 7], opens_at=time(opens),
                    closes_at=time(closes), slot_minutes=minutes, capacity=capacity,
                    valid_from=date(2026, 1, 1), valid_until=None)


# -- the pure planner -------------------------------------------------------------------------


def test_a_start_in_the_spring_gap_is_skipped() -> None:
    plan = plan_slots([_rule(1, 4, 60)], date(2027, 3, 28), date(2027, 3, 28), BERLIN)
    assert [p.starts_at for p in plan.slots] == [
        datetime(2027, 3, 28, 0, 0, tzinfo=UTC),   # 01:00 CET
        datetime(2027, 3, 28, 1, 0, tzinfo=UTC),   # 03:00 CEST; 02:00 does not exist
    ]
    assert plan.dropped == 1
    assert [p.ends_at - p.starts_at for p in plan.slots] == [timedelta(hours=1)] * 2


def test_a_start_that_occurs_twice_in_autumn_is_taken_once() -> None:
    plan = plan_slots([_rule(1, 4, 60)], date(2026, 10, 25), date(2026, 10, 25), BERLIN)
    assert [p.starts_at for p in plan.slots] == [
        datetime(2026, 10, 24, 23, 0, tzinfo=UTC),  # 01:00 CEST
        datetime(2026, 10, 25, 0, 0, tzinfo=UTC),   # 02:00 CEST, its first occurrence
        datetime(2026, 10, 25, 2, 0, tzinfo=UTC),   # 03:00 CET
    ]
    assert plan.dropped == 0


def test_overlapping_rules_give_each_start_once_and_respect_validity() -> None:
    morning = _rule(8, 12, 60, capacity=10)
    longer = _rule(8, 10, 120, capacity=99)
    limited = SlotRule(weekdays=[3], opens_at=time(18), closes_at=time(20), slot_minutes=60,
                       capacity=5, valid_from=date(2027, 1, 6), valid_until=date(2027, 1, 6))
    plan = plan_slots([morning, longer, limited], date(2027, 1, 5), date(2027, 1, 13), BERLIN)
    per_day = Counter(p.starts_at.astimezone(BERLIN).date() for p in plan.slots)
    assert per_day[date(2027, 1, 5)] == 4
    assert per_day[date(2027, 1, 6)] == 6   # Wednesday: the limited rule applies once
    assert per_day[date(2027, 1, 13)] == 4  # a Wednesday after valid_until
    assert plan.dropped == 9                # 08:00 of the longer rule, every day
    eight = datetime(2027, 1, 5, 7, 0, tzinfo=UTC)
    assert next(p for p in plan.slots if p.starts_at == eight).capacity == 10


# -- generation through the API ---------------------------------------------------------------


@pytest.mark.parametrize(("first", "last", "change_day", "before", "after"), [
    ("2027-03-22", "2027-04-04", date(2027, 3, 28), 9, 8),
    ("2026-10-19", "2026-11-01", date(2026, 10, 25), 8, 9),
])
async def test_two_weeks_of_museum_slots_across_a_dst_change(
        ticketing: Any, first: str, last: str, change_day: date, before: int,
        after: int) -> None:
    h = ticketing
    oid = await _museum(h)
    result = await h.post(f"/offerings/{oid}/slots/generate", {"from": first, "to": last},
                         expect=200)
    assert result == {"created": 12 * 16, "skipped": 0}
    slots = await _slots(h, oid, first, last)
    assert len(slots) == 192
    local = [_utc(s["starts_at"]).astimezone(BERLIN) for s in slots]
    assert {d.isoweekday() for d in local} == {2, 3, 4, 5, 6, 7}, "Monday is closed"
    assert Counter(d.date() for d in local) == {d: 16 for d in {x.date() for x in local}}
    assert {d.time() for d in local} == {time(10 + i // 2, 30 * (i % 2)) for i in range(16)}
    openings = {_utc(s["starts_at"]) for s in slots
                if _utc(s["starts_at"]).astimezone(BERLIN).time() == time(10)}
    first_day_after = min(d for d in openings if d.date() > change_day)
    last_day_before = max(d for d in openings if d.date() < change_day)
    assert last_day_before.hour == before
    assert first_day_after.hour == after
    assert all(_utc(s["ends_at"]) - _utc(s["starts_at"]) == (
        _utc(slots[0]["ends_at"]) - _utc(slots[0]["starts_at"])) for s in slots)
    assert {(s["capacity"], s["held"], s["sold"], s["status"]) for s in slots} == {
        (40, 0, 0, "open")}


async def test_generating_twice_creates_nothing_new(ticketing: Any) -> None:
    h = ticketing
    oid = await _museum(h)
    body = {"from": "2027-03-22", "to": "2027-04-04"}
    await h.post(f"/offerings/{oid}/slots/generate", body, expect=200)
    again = await h.post(f"/offerings/{oid}/slots/generate", body, expect=200)
    assert again == {"created": 0, "skipped": 192}
    wider = await h.post(f"/offerings/{oid}/slots/generate",
                        {"from": "2027-03-22", "to": "2027-04-11"}, expect=200)
    assert wider == {"created": 6 * 16, "skipped": 192}
    assert await h.scalar("SELECT count(*) FROM slots") == 288


async def test_a_night_rule_skips_the_hour_that_does_not_exist(ticketing: Any) -> None:
    h = ticketing
    oid = await _museum(h)
    await h.post(f"/offerings/{oid}/rules", {
        "weekdays": [7], "opens_at": "01:00", "closes_at": "04:00", "slot_minutes": 60,
        "capacity": 5, "valid_from": "2027-03-28", "valid_until": "2027-03-28"})
    result = await h.post(f"/offerings/{oid}/slots/generate",
                         {"from": "2027-03-28", "to": "2027-03-28"}, expect=200)
    assert result == {"created": 16 + 2, "skipped": 1}


async def test_three_months_of_slots_take_few_statements(ticketing: Any) -> None:
    h = ticketing
    oid = await _museum(h)
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = h.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        result = await h.post(f"/offerings/{oid}/slots/generate",
                             {"from": "2027-01-01", "to": "2027-03-31"}, expect=200)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert result["created"] > 1000
    assert sum("INSERT INTO slots" in s for s in statements) == 1
    assert len(statements) < 15, statements


async def test_generation_range_is_checked(ticketing_app: Any) -> None:
    async with ticketing_app(slot_generation_max_days=31) as h:
        oid = await _museum(h)
        too_long = await h.client.post(f"/offerings/{oid}/slots/generate",
                                       json={"from": "2027-01-01", "to": "2027-02-01"},
                                       headers=h.manager_headers())
        assert (too_long.status_code, too_long.json()["code"]) == (422, "range_too_long")
        assert too_long.json()["max_days"] == 31
        reversed_ = await h.client.post(f"/offerings/{oid}/slots/generate",
                                        json={"from": "2027-02-01", "to": "2027-01-31"},
                                        headers=h.manager_headers())
        assert (reversed_.status_code, reversed_.json()["code"]) == (422, "invalid_range")
        fits = await h.client.post(f"/offerings/{oid}/slots/generate",
                                   json={"from": "2027-01-01", "to": "2027-01-31"},
                                   headers=h.manager_headers())
        assert fits.status_code == 200
        assert await h.scalar("SELECT count(*) FROM slots") == fits.json()["created"] > 0


async def test_slots_follow_the_venue_time_zone(ticketing: Any) -> None:
    h = ticketing
    oid = await _museum(h, timezone="America/New_York")
    await h.post(f"/offerings/{oid}/slots/generate", {"from": "2027-01-05", "to": "2027-01-05"},
                expect=200)
    slots = await _slots(h, oid, "2027-01-05", "2027-01-05")
    assert _utc(slots[0]["starts_at"]) == datetime(2027, 1, 5, 15, 0, tzinfo=UTC)


# -- slots by hand and overrides --------------------------------------------------------------


async def test_an_extra_slot_by_hand_and_no_twin(ticketing: Any) -> None:
    h = ticketing
    oid = await _museum(h)
    body = {"starts_at": "2027-05-14T19:00:00+02:00", "ends_at": "2027-05-14T22:00:00+02:00",
            "capacity": 60}
    slot = await h.post(f"/offerings/{oid}/slots", body)
    assert _utc(slot["starts_at"]) == datetime(2027, 5, 14, 17, 0, tzinfo=UTC)
    assert (slot["capacity"], slot["available"], slot["status"]) == (60, 60, "open")
    twin = await h.client.post(f"/offerings/{oid}/slots", json=body, headers=h.manager_headers())
    assert (twin.status_code, twin.json()["code"]) == (409, "slot_exists")


async def test_capacity_override_never_goes_below_held_and_sold(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    slot = demo.exhibition_slot
    await h.execute("UPDATE slots SET held = 3, sold = 12 WHERE id = :id", id=slot)
    refused = await h.client.patch(f"/slots/{slot}", json={"capacity": 14},
                                   headers=h.manager_headers())
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json()["reserved"]) == ("capacity_below_reserved", 15)
    assert await h.scalar("SELECT capacity FROM slots WHERE id = :id", id=slot) == 40
    exact = await h.client.patch(f"/slots/{slot}", json={"capacity": 15},
                                 headers=h.manager_headers())
    assert exact.status_code == 200
    assert (exact.json()["capacity"], exact.json()["available"]) == (15, 0)
    more = await h.client.patch(f"/slots/{slot}", json={"capacity": 80},
                                headers=h.manager_headers())
    assert more.json()["available"] == 65


async def test_closing_reopening_and_cancelling_a_slot(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    slot = demo.exhibition_slot
    closed = await h.client.patch(f"/slots/{slot}", json={"status": "closed"},
                                  headers=h.manager_headers())
    assert closed.json()["status"] == "closed"
    # Closing stops sales: the guarded reservation of the orders slice no longer matches.
    assert await h.rows("UPDATE slots SET held = held + 1 WHERE id = :id AND status = 'open' "
                        "AND held + sold + 1 <= capacity RETURNING held", id=slot) == []
    reopened = await h.client.patch(f"/slots/{slot}", json={"status": "open"},
                                    headers=h.manager_headers())
    assert reopened.json()["status"] == "open"
    await h.execute("UPDATE slots SET sold = 2 WHERE id = :id", id=slot)
    refused = await h.client.patch(f"/slots/{slot}", json={"status": "cancelled"},
                                   headers=h.manager_headers())
    assert (refused.status_code, refused.json()["code"]) == (409, "slot_has_reservations")
    await h.execute("UPDATE slots SET sold = 0 WHERE id = :id", id=slot)
    cancelled = await h.client.patch(f"/slots/{slot}", json={"status": "cancelled"},
                                     headers=h.manager_headers())
    assert cancelled.json()["status"] == "cancelled"
    final = await h.client.patch(f"/slots/{slot}", json={"status": "open"},
                                 headers=h.manager_headers())
    assert (final.status_code, final.json()["code"]) == (409, "invalid_transition")


async def test_capacity_overrides_race_reservations_without_overbooking(ticketing: Any) -> None:
    """Managers shrink the slot while 40 buyers hold places concurrently: every override either
    succeeds above what is reserved at that instant or is refused with 409; never a 500, never
    more places reserved than the capacity."""
    h = ticketing
    demo = await h.demo()
    slot = demo.exhibition_slot

    async def hold() -> bool:
        async with h.engine.begin() as conn:
            result = await conn.execute(text(
                "UPDATE slots SET held = held + 1 WHERE id = :id AND status = 'open' "
                "AND held + sold + 1 <= capacity RETURNING held"), {"id": slot})
            return result.first() is not None

    async def shrink(capacity: int) -> Any:
        return await h.client.patch(f"/slots/{slot}", json={"capacity": capacity},
                                    headers=h.manager_headers())

    jobs = [hold() for _ in range(40)] + [shrink(c) for c in (30, 25, 20, 15, 10, 35, 5)]
    results = await asyncio.gather(*jobs)
    holds = [r for r in results[:40] if r]
    overrides = results[40:]
    assert all(r.status_code in (200, 409) for r in overrides), [r.text for r in overrides]
    for r in overrides:
        if r.status_code == 200:
            assert r.json()["held"] + r.json()["sold"] <= r.json()["capacity"]
    capacity, held = (await h.rows("SELECT capacity, held FROM slots WHERE id = :id",
                                   id=slot))[0]
    assert held == len(holds) <= capacity


async def test_slot_listing_checks_its_range(ticketing: Any) -> None:
    h = ticketing
    oid = await _museum(h)
    reversed_ = await h.client.get(f"/offerings/{oid}/slots?from=2027-02-01&to=2027-01-01",
                                   headers=h.manager_headers())
    assert (reversed_.status_code, reversed_.json()["code"]) == (422, "invalid_range")
    missing = await h.client.get(f"/offerings/{oid}/slots", headers=h.manager_headers())
    assert missing.status_code == 422
    unknown = await h.client.patch(f"/slots/{uuid.uuid4()}", json={"capacity": 1},
                                   headers=h.manager_headers())
    assert (unknown.status_code, unknown.json()["code"]) == (404, "slot_not_found")
