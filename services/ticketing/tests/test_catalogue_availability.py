"""The public shop views: published offerings with prices, and the availability per slot and
ticket type (quota-aware), cheap to poll (two queries, public caching, ETag and 304)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event

from ticketing_service.catalogue.availability import availability_of
from ticketing_service.catalogue.public_schemas import AvailabilityRead

BERLIN = ZoneInfo("Europe/Berlin")


def _slot_day(starts_at: datetime) -> date:
    return starts_at.astimezone(BERLIN).date()


async def _availability(h: Any, offering: Any, day: date, *, last: date | None = None,
                        headers: dict[str, str] | None = None, tenant: str | None = None) -> Any:
    return await h.client.get(
        f"/public/{tenant or h.TENANT}/offerings/{offering}/availability"
        f"?from={day.isoformat()}&to={(last or day).isoformat()}", headers=headers or {})


def _by_code(slot: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {t["code"]: (t["available"], t["tickets"]) for t in slot["ticket_types"]}


async def test_availability_counts_slot_and_quota_without_a_token(ticketing: Any) -> None:
    h = ticketing
    starts = h.next_weekday_at(10)
    demo = await h.demo(slot_starts_at=starts)
    await h.execute("UPDATE slots SET held = 5, sold = 20 WHERE id = :id",
                   id=demo.exhibition_slot)
    await h.execute("INSERT INTO slot_quota_usage (slot_id, quota_id, held, sold) "
                      "VALUES (:s, :q, 2, 6)", s=demo.exhibition_slot, q=demo.reduced_quota)
    response = await _availability(h, demo.exhibition, _slot_day(starts))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"]) == (_slot_day(starts).isoformat(),) * 2
    assert body["timezone"] == "Europe/Berlin"
    assert body["sales_open"] is True
    [slot] = body["slots"]
    assert slot["slot_id"] == str(demo.exhibition_slot)
    assert datetime.fromisoformat(slot["starts_at"]) == starts
    assert slot["available"] == 15
    assert slot["status"] == "available"
    assert _by_code(slot) == {"adult": (15, 15), "reduced": (2, 2), "child": (2, 2)}

    await h.execute("UPDATE slots SET sold = 30 WHERE id = :id", id=demo.exhibition_slot)
    await h.execute("UPDATE slot_quota_usage SET sold = 8 WHERE slot_id = :s",
                   s=demo.exhibition_slot)
    [slot] = (await _availability(h, demo.exhibition, _slot_day(starts))).json()["slots"]
    assert slot["status"] == "few_left"
    assert _by_code(slot) == {"adult": (5, 5), "reduced": (0, 0), "child": (0, 0)}

    await h.execute("UPDATE slots SET sold = 35 WHERE id = :id", id=demo.exhibition_slot)
    [slot] = (await _availability(h, demo.exhibition, _slot_day(starts))).json()["slots"]
    assert (slot["available"], slot["status"]) == (0, "sold_out")


async def test_places_per_ticket_turn_into_whole_tickets(ticketing: Any) -> None:
    h = ticketing
    starts = h.next_weekday_at(10)
    demo = await h.demo(slot_starts_at=starts)
    await h.execute("UPDATE slots SET sold = 113 WHERE id = :id", id=demo.pool_slot)
    [slot] = (await _availability(h, demo.indoor_pool, _slot_day(starts))).json()["slots"]
    assert _by_code(slot) == {"adult": (7, 7), "reduced": (7, 7), "family": (7, 1)}
    assert slot["status"] == "few_left"


async def test_closed_cancelled_and_sales_closing_slots(ticketing: Any) -> None:
    h = ticketing
    starts = h.next_weekday_at(10)
    demo = await h.demo(slot_starts_at=starts)
    later = await h.add_slot(demo.exhibition, starts_at=starts + timedelta(hours=2))
    gone = await h.add_slot(demo.exhibition, starts_at=starts + timedelta(hours=4))
    await h.execute("UPDATE slots SET status = 'closed' WHERE id = :id", id=later)
    await h.execute("UPDATE slots SET status = 'cancelled' WHERE id = :id", id=gone)
    slots = (await _availability(h, demo.exhibition, _slot_day(starts))).json()["slots"]
    assert [(s["slot_id"], s["status"]) for s in slots] == [
        (str(demo.exhibition_slot), "available"), (str(later), "closed")]

    await h.execute("UPDATE offerings SET sales_close_minutes_before = :m WHERE id = :id",
                   m=60 * 48, id=demo.exhibition)
    body = (await _availability(h, demo.exhibition, _slot_day(starts))).json()
    assert body["sales_open"] is True
    assert [s["status"] for s in body["slots"]] == ["closed", "closed"]

    await h.execute("UPDATE offerings SET sales_close_minutes_before = 0, "
                      "sales_start_at = now() + interval '1 day' WHERE id = :id",
                   id=demo.exhibition)
    body = (await _availability(h, demo.exhibition, _slot_day(starts))).json()
    assert body["sales_open"] is False
    assert body["slots"][0]["status"] == "closed"


async def test_polling_gets_304_until_a_number_changes(ticketing: Any) -> None:
    h = ticketing
    starts = h.next_weekday_at(10)
    demo = await h.demo(slot_starts_at=starts)
    day = _slot_day(starts)
    first = await _availability(h, demo.exhibition, day)
    assert first.headers["Cache-Control"] == "public, max-age=5"
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    unchanged = await _availability(h, demo.exhibition, day, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == etag
    assert unchanged.headers["Cache-Control"] == "public, max-age=5"
    listed = await _availability(h, demo.exhibition, day,
                                 headers={"If-None-Match": f'W/"other", {etag}'})
    assert listed.status_code == 304
    strong = await _availability(h, demo.exhibition, day,
                                 headers={"If-None-Match": etag.removeprefix("W/")})
    assert strong.status_code == 304, "If-None-Match compares weakly"

    await h.execute("UPDATE slots SET held = held + 1 WHERE id = :id", id=demo.exhibition_slot)
    changed = await _availability(h, demo.exhibition, day, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.json()["slots"][0]["available"] == 39


async def test_answer_is_the_documented_model_byte_for_byte(ticketing: Any) -> None:
    h = ticketing
    starts = h.next_weekday_at(10)
    demo = await h.demo(slot_starts_at=starts)
    await h.add_slot(demo.indoor_pool, starts_at=starts + timedelta(hours=1))
    await h.execute("UPDATE slots SET sold = 113 WHERE id = :id", id=demo.pool_slot)
    response = await _availability(h, demo.indoor_pool, _slot_day(starts))
    assert response.status_code == 200
    body = response.json()
    assert len(body["slots"]) == 2
    body["from_"] = body.pop("from")
    documented = AvailabilityRead.model_validate(body)
    assert documented.model_dump_json(by_alias=True).encode() == response.content
    assert response.headers["content-type"] == "application/json"


async def test_availability_of_takes_two_queries(ticketing: Any) -> None:
    h = ticketing
    starts = h.next_weekday_at(10)
    demo = await h.demo(slot_starts_at=starts)
    for hours in range(1, 8):
        await h.add_slot(demo.exhibition, starts_at=starts + timedelta(hours=hours))
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(h.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with h.sessions() as session:
            result = await availability_of(session, h.TENANT, demo.exhibition,
                                           _slot_day(starts), _slot_day(starts) + timedelta(6))
    finally:
        event.remove(h.engine.sync_engine, "before_cursor_execute", record)
    assert len(result["slots"]) == 8
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2


async def test_passes_have_no_slots_and_drafts_or_strangers_are_not_found(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    other = await h.demo(tenant=h.OTHER_TENANT, published=False)
    today = datetime.now(UTC).date()
    card = await _availability(h, demo.ten_visit_card, today)
    assert card.status_code == 200
    assert (card.json()["slots"], card.json()["sales_open"]) == ([], True)
    for tenant, offering in ((h.TENANT, other.exhibition), (h.OTHER_TENANT, demo.exhibition),
                             (h.OTHER_TENANT, other.exhibition)):
        missing = await _availability(h, offering, today, tenant=tenant)
        assert missing.status_code == 404, (tenant, offering)
        assert missing.json()["code"] == "offering_not_found"
        assert missing.headers["content-type"] == "application/problem+json"


async def test_availability_range_is_bounded(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    day = date(2027, 1, 1)
    too_long = await _availability(h, demo.exhibition, day, last=day + timedelta(days=31))
    assert (too_long.status_code, too_long.json()["code"]) == (422, "range_too_long")
    fits = await _availability(h, demo.exhibition, day, last=day + timedelta(days=30))
    assert fits.status_code == 200
    reversed_ = await _availability(h, demo.exhibition, day, last=day - timedelta(days=1))
    assert (reversed_.status_code, reversed_.json()["code"]) == (422, "invalid_range")
    for query in ("from=2027-01-01", "to=2027-01-01", "from=tomorrow&to=2027-01-01",
                  "from=2027-02-30&to=2027-03-01", "from=9999-12-31&to=9999-12-31",
                  "from=2027-01-01&to=2027-01-01x"):
        bad = await h.client.get(
            f"/public/{h.TENANT}/offerings/{demo.exhibition}/availability?{query}")
        assert bad.status_code == 422, query
        assert bad.headers["content-type"] == "application/problem+json", query


async def test_public_offerings_show_only_published_of_the_tenant(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    await h.demo(tenant=h.OTHER_TENANT)
    await h.execute("UPDATE ticket_types SET active = false WHERE id = :id",
                   id=demo.museum_child)
    await h.execute("UPDATE offerings SET status = 'draft' WHERE id = :id",
                   id=demo.ten_visit_card)
    response = await h.client.get(f"/public/{h.TENANT}/offerings")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=5"
    items = {i["name"]: i for i in response.json()["items"]}
    assert set(items) == {"Dauerausstellung", "Hallenbad", "Kulturpass"}
    museum = items["Dauerausstellung"]
    assert [(t["code"], t["price"]) for t in museum["ticket_types"]] == [
        ("adult", 800), ("reduced", 500)]
    assert (museum["venue_name"], museum["currency"], museum["sales_open"]) == (
        "Stadtmuseum", "EUR", True)
    assert items["Kulturpass"]["valid_days"] == 365
    pool = items["Hallenbad"]
    assert [(t["code"], t["places"]) for t in pool["ticket_types"]] == [
        ("adult", 1), ("reduced", 1), ("family", 4)]
    nobody = await h.client.get("/public/nowhere/offerings")
    assert nobody.json()["items"] == []
    bad = await h.client.get("/public/NOT%20A%20SLUG/offerings")
    assert bad.status_code == 422
