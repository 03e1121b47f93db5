"""Department reports: slot occupancy with admissions and no-shows, revenue per offering and
ticket type with refunds and combo shares, in JSON and CSV; figures exact for a hand-built day
of sales (orders, tickets and check-ins written straight through the ORM); local days in the
venue's time zone; CSV cells that a spreadsheet would run are defused; only the department's
managers and cashiers, tenant admins and reading clients get them; bad periods are 422."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from ticketing_service.orders.models import Order, OrderLine, OrderPaymentItem
from ticketing_service.tickets.models import CheckIn, Entitlement, Ticket

DAY = date(2025, 3, 4)                                  # a Tuesday; Berlin is UTC+1
SALE_AT = datetime(2025, 3, 4, 11, 0, tzinfo=UTC)
NEXT_DAY_SALE_AT = datetime(2025, 3, 4, 23, 30, tzinfo=UTC)  # 00:30 on 5 March in Berlin
_codes = itertools.count(1)


@dataclass
class Line:
    """One order line; ``entitlements`` per ticket: (department, offering, slot)."""

    offering: uuid.UUID
    ticket_type: uuid.UUID
    department: str
    quantity: int
    unit_price: int
    slot: uuid.UUID | None = None
    places: int = 1
    entitlements: list[tuple[str, uuid.UUID, uuid.UUID | None]] = field(default_factory=list)


@dataclass
class Sold:
    """Ids of what :func:`sell` wrote: tickets per line, entitlements per ticket."""

    order_id: uuid.UUID
    tickets: list[list[uuid.UUID]]
    entitlements: dict[uuid.UUID, list[uuid.UUID]]


COST_CENTRES = {"museum": "MUS-4100", "pools": "BAD-5700"}


async def sell(h: Any, lines: list[Line], *, status: str = "confirmed",
               confirmed_at: datetime | None = SALE_AT, tenant: str = "musterstadt",
               account: uuid.UUID | None = None) -> Sold:
    """An order of ``lines`` in ``status`` with its tickets (voided if refunded)."""
    account = account or h.ERIKA
    order_id = uuid.uuid4()
    placed = (confirmed_at or SALE_AT) - timedelta(minutes=5)
    sold = Sold(order_id, [], {})
    async with h.sessions() as session, session.begin():
        order = Order(id=order_id, tenant=tenant, account_id=account,
                      contact_email="erika@example.org", placed_by=str(account), status=status,
                      total=sum(line.quantity * line.unit_price for line in lines),
                      currency="EUR", reference=f"ticketing/order/{order_id}",
                      hold_expires_at=placed + timedelta(minutes=15), placed_at=placed,
                      confirmed_at=confirmed_at,
                      refunded_amount=0)
        session.add(order)
        for position, line in enumerate(lines):
            row = OrderLine(
                id=uuid.uuid4(), position=position, tenant=tenant, department=line.department,
                cost_centre=COST_CENTRES[line.department], offering_id=line.offering,
                ticket_type_id=line.ticket_type, slot_id=line.slot, quantity=line.quantity,
                places=line.places, unit_price=line.unit_price,
                amount=line.quantity * line.unit_price, description="test")
            order.lines.append(row)
            order.payment_items.append(OrderPaymentItem(
                position=position, department=line.department,
                cost_centre=COST_CENTRES[line.department], description="test",
                amount=row.amount))
            await session.flush()
            if status not in ("confirmed", "cancellation_requested", "refunded"):
                sold.tickets.append([])
                continue
            ids = []
            for _ in range(line.quantity):
                ticket = Ticket(
                    id=uuid.uuid4(), tenant=tenant, department=line.department,
                    order_id=order_id, order_line_id=row.id, offering_id=line.offering,
                    ticket_type_id=line.ticket_type, slot_id=line.slot,
                    code=f"T{next(_codes):08d}",
                    status="voided" if status == "refunded" else "valid",
                    holder_account_id=account, valid_from=placed,
                    valid_until=placed + timedelta(days=365))
                for department, offering, slot in (line.entitlements
                                                   or [(line.department, line.offering,
                                                        line.slot)]):
                    ticket.entitlements.append(Entitlement(
                        id=uuid.uuid4(), department=department, offering_id=offering,
                        slot_id=slot, visits_total=1, visits_used=0))
                session.add(ticket)
                await session.flush()
                ids.append(ticket.id)
                sold.entitlements[ticket.id] = [e.id for e in ticket.entitlements]
            sold.tickets.append(ids)
    if status == "refunded":
        await execute(h, "UPDATE orders SET refunded_amount = total WHERE id = :id",
                      id=order_id)
    return sold


async def scan(h: Any, ticket: uuid.UUID, entitlement: uuid.UUID | None, department: str,
               outcome: str = "admitted", direction: str = "entry",
               tenant: str = "musterstadt") -> None:
    async with h.sessions() as session, session.begin():
        session.add(CheckIn(
            tenant=tenant, scan_id=str(uuid.uuid4()), department=department, ticket_id=ticket,
            entitlement_id=entitlement, direction=direction, outcome=outcome, gate="Eingang",
            scanned_by="gate-1", request_hash="0" * 64, response={"outcome": outcome},
            scanned_at=SALE_AT + timedelta(hours=1)))


async def execute(h: Any, sql: str, **params: Any) -> None:
    """Run one statement and commit it."""
    async with h.engine.begin() as conn:
        await conn.execute(text(sql), params)


async def set_counters(h: Any, slot: uuid.UUID, *, sold: int, held: int) -> None:
    await execute(h, "UPDATE slots SET sold = :sold, held = :held WHERE id = :id",
                  id=slot, sold=sold, held=held)


@dataclass
class Day:
    demo: Any
    s1: uuid.UUID
    s2: uuid.UUID
    p1: uuid.UUID


async def a_day_of_sales(h: Any) -> Day:
    """Museum and pools on 4 March 2025 (see the expected figures in the tests)."""
    d = await h.demo()
    berlin_10 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
    s1 = await h.add_slot(d.exhibition, starts_at=berlin_10, minutes=30, capacity=40)
    s2 = await h.add_slot(d.exhibition, starts_at=berlin_10 + timedelta(minutes=30),
                          minutes=30, capacity=40)
    late = await h.add_slot(d.exhibition, starts_at=NEXT_DAY_SALE_AT, minutes=30, capacity=40)
    p1 = await h.add_slot(d.indoor_pool, starts_at=datetime(2025, 3, 4, 6, 0, tzinfo=UTC),
                          minutes=120, capacity=120)
    museum = "museum"
    # O1: 2 adults + 1 child for 10:00; both adults come (one scanned twice, once out again),
    # the child never does.
    o1 = await sell(h, [Line(d.exhibition, d.museum_adult, museum, 2, 800, s1),
                        Line(d.exhibition, d.museum_child, museum, 1, 0, s1)])
    (a1, a2), (child,) = o1.tickets
    await scan(h, a1, o1.entitlements[a1][0], museum)
    await scan(h, a1, o1.entitlements[a1][0], museum, outcome="already_used")
    await scan(h, a1, o1.entitlements[a1][0], museum, direction="exit", outcome="exited")
    await scan(h, a2, o1.entitlements[a2][0], museum)
    await scan(h, child, o1.entitlements[child][0], "pools", outcome="wrong_department")
    # O2: a reduced ticket, refunded (its ticket voided).
    await sell(h, [Line(d.exhibition, d.museum_reduced, museum, 1, 500, s1)],
               status="refunded", account=h.MAX)
    # O9: an adult whose cancellation is pending: still sold; turned away (too early), never
    # came back.
    o9 = await sell(h, [Line(d.exhibition, d.museum_adult, museum, 1, 800, s1)],
                    status="cancellation_requested")
    late_comer = o9.tickets[0][0]
    await scan(h, late_comer, o9.entitlements[late_comer][0], museum, outcome="not_valid_now")
    # O4: an adult awaiting payment (held, not sold).
    await sell(h, [Line(d.exhibition, d.museum_adult, museum, 1, 800, s1)],
               status="awaiting_payment", confirmed_at=None)
    # O3: two Kulturpasses; the first one's museum visit is booked for 10:00 and used.
    kp = [("museum", d.exhibition, s1), ("pools", d.indoor_pool, None)]
    o3 = await sell(h, [Line(d.kulturpass, d.kulturpass_type, museum, 2, 1000,
                             entitlements=kp)])
    k1 = o3.tickets[0][0]
    await scan(h, k1, o3.entitlements[k1][0], museum)
    await scan(h, k1, o3.entitlements[k1][1], "pools")
    # O10: one Kulturpass, refunded.
    await sell(h, [Line(d.kulturpass, d.kulturpass_type, museum, 1, 1000)], status="refunded")
    # O8: sold after midnight in Berlin: 5 March.
    await sell(h, [Line(d.exhibition, d.museum_adult, museum, 1, 800, late)],
               confirmed_at=NEXT_DAY_SALE_AT)
    # O6: pools, a family ticket (4 places, admitted) and an adult (no-show) for 07:00.
    o6 = await sell(h, [Line(d.indoor_pool, d.pool_family, "pools", 1, 1100, p1, places=4),
                        Line(d.indoor_pool, d.pool_adult, "pools", 1, 450, p1)])
    family = o6.tickets[0][0]
    await scan(h, family, o6.entitlements[family][0], "pools")
    # Another city's museum sells on the same day; none of it is ours.
    other = await h.demo(tenant=h.OTHER_TENANT)
    o7 = await sell(h, [Line(other.exhibition, other.museum_adult, museum, 3, 800,
                             other.exhibition_slot)], tenant=h.OTHER_TENANT)
    await scan(h, o7.tickets[0][0], o7.entitlements[o7.tickets[0][0]][0], museum,
               tenant=h.OTHER_TENANT)
    await set_counters(h, s1, sold=6, held=1)
    await set_counters(h, p1, sold=5, held=0)
    return Day(d, s1, s2, p1)


async def get(h: Any, report: str, headers: dict[str, str] | None = None,
              **params: str) -> Any:
    query = {"department": "museum", "from": DAY.isoformat(), "to": DAY.isoformat(), **params}
    return await h.client.get(f"/reports/{report}", params=query,
                              headers=headers or h.manager_headers("museum"))


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# -- slots ------------------------------------------------------------------------------------


async def test_slot_report_counts_sales_admissions_and_no_shows_per_slot(ticketing: Any) -> None:
    day = await a_day_of_sales(ticketing)

    response = await get(ticketing, "slots")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["tenant"], body["department"], body["from"], body["to"]) == (
        "musterstadt", "museum", "2025-03-04", "2025-03-04")
    assert body["slots"] == [
        {"slot_id": str(day.s1), "offering_id": str(day.demo.exhibition),
         "offering": "Dauerausstellung", "starts_at": "2025-03-04T10:00:00+01:00",
         "ends_at": "2025-03-04T10:30:00+01:00", "status": "open", "capacity": 40, "sold": 6,
         "held": 1, "available": 33, "occupancy_rate": 0.15, "tickets": 6, "admitted": 3,
         "no_shows": 3},
        {"slot_id": str(day.s2), "offering_id": str(day.demo.exhibition),
         "offering": "Dauerausstellung", "starts_at": "2025-03-04T10:30:00+01:00",
         "ends_at": "2025-03-04T11:00:00+01:00", "status": "open", "capacity": 40, "sold": 0,
         "held": 0, "available": 40, "occupancy_rate": 0.0, "tickets": 0, "admitted": 0,
         "no_shows": 0},
    ]

    pools = await get(ticketing, "slots", ticketing.manager_headers("pools"), department="pools")
    assert [(s["slot_id"], s["sold"], s["tickets"], s["admitted"], s["no_shows"],
             s["occupancy_rate"]) for s in pools.json()["slots"]] == [
        (str(day.p1), 5, 2, 1, 1, round(5 / 120, 4))]


async def test_the_days_of_a_report_are_local_days_of_the_venue(ticketing: Any) -> None:
    await a_day_of_sales(ticketing)

    two_days = await get(ticketing, "slots", to="2025-03-05")

    assert [s["starts_at"] for s in two_days.json()["slots"]] == [
        "2025-03-04T10:00:00+01:00", "2025-03-04T10:30:00+01:00", "2025-03-05T00:30:00+01:00"]
    revenue = await get(ticketing, "revenue", to="2025-03-05")
    adult = [r for r in revenue.json()["rows"] if r["ticket_type"] == "adult"]
    assert [(r["tickets_sold"], r["gross"]) for r in adult] == [(4, 3200)]


async def test_no_shows_are_unknown_before_a_slot_has_ended(ticketing: Any) -> None:
    demo = await ticketing.demo()            # a museum slot tomorrow 10:00 UTC
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    await sell(ticketing, [Line(demo.exhibition, demo.museum_adult, "museum", 2, 800,
                                demo.exhibition_slot)])

    response = await get(ticketing, "slots", **{"from": tomorrow, "to": tomorrow})

    [slot] = response.json()["slots"]
    assert (slot["tickets"], slot["admitted"], slot["no_shows"]) == (2, 0, None)


# -- revenue ----------------------------------------------------------------------------------


def _revenue_row(offering: str, code: str, sold_by: str, combo: bool, tickets: int, gross: int,
                 tickets_refunded: int, refunded: int) -> dict[str, Any]:
    return {"offering": offering, "sold_by": sold_by, "ticket_type": code, "combo": combo,
            "currency": "EUR", "tickets_sold": tickets, "gross": gross,
            "tickets_refunded": tickets_refunded, "refunded": refunded,
            "net": gross - refunded}


def _strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("offering", "sold_by", "ticket_type", "combo", "currency", "tickets_sold", "gross",
            "tickets_refunded", "refunded", "net")
    return [{k: r[k] for k in keys} for r in rows]


async def test_revenue_counts_refunds_and_gives_each_department_its_share_of_a_combo(
    ticketing: Any,
) -> None:
    day = await a_day_of_sales(ticketing)

    museum = (await get(ticketing, "revenue")).json()
    pools = (await get(ticketing, "revenue", ticketing.staff_headers({"pools": ["cashier"]}),
                       department="pools")).json()

    assert _strip(museum["rows"]) == [
        _revenue_row("Dauerausstellung", "adult", "museum", False, 3, 2400, 0, 0),
        _revenue_row("Dauerausstellung", "reduced", "museum", False, 1, 500, 1, 500),
        _revenue_row("Dauerausstellung", "child", "museum", False, 1, 0, 0, 0),
        _revenue_row("Kulturpass", "kulturpass", "museum", True, 3, 1800, 1, 600),
    ]
    assert museum["totals"] == [{"currency": "EUR", "tickets_sold": 8, "gross": 4700,
                                 "tickets_refunded": 2, "refunded": 1100, "net": 3600}]
    assert museum["rows"][0]["offering_id"] == str(day.demo.exhibition)
    assert museum["rows"][0]["ticket_type_id"] == str(day.demo.museum_adult)
    assert _strip(pools["rows"]) == [
        _revenue_row("Hallenbad", "adult", "pools", False, 1, 450, 0, 0),
        _revenue_row("Hallenbad", "family", "pools", False, 1, 1100, 0, 0),
        _revenue_row("Kulturpass", "kulturpass", "museum", True, 3, 1200, 1, 400),
    ]
    assert pools["totals"] == [{"currency": "EUR", "tickets_sold": 5, "gross": 2750,
                                "tickets_refunded": 1, "refunded": 400, "net": 2350}]


async def test_a_day_without_sales_has_no_rows(ticketing: Any) -> None:
    await a_day_of_sales(ticketing)

    response = await get(ticketing, "revenue", **{"from": "2025-03-06", "to": "2025-03-06"})

    assert response.json()["rows"] == []
    assert response.json()["totals"] == []


# -- CSV --------------------------------------------------------------------------------------


async def test_csv_has_a_header_the_same_figures_and_names_the_file(ticketing: Any) -> None:
    day = await a_day_of_sales(ticketing)

    slots = await get(ticketing, "slots", format="csv")
    revenue = await ticketing.client.get(
        "/reports/revenue", params={"department": "pools", "from": "2025-03-01",
                                    "to": "2025-03-31"},
        headers={**ticketing.manager_headers("pools"), "Accept": "text/csv"})

    assert slots.status_code == 200, slots.text
    assert slots.headers["content-type"] == "text/csv; charset=utf-8"
    assert slots.headers["content-disposition"] == (
        'attachment; filename="slots-museum-2025-03-04-2025-03-04.csv"')
    assert slots.text.splitlines()[0] == (
        "department,offering_id,offering,slot_id,starts_at,ends_at,status,capacity,sold,held,"
        "available,occupancy_rate,tickets,admitted,no_shows")
    first = parse_csv(slots.text)[0]
    assert first == {
        "department": "museum", "offering_id": str(day.demo.exhibition),
        "offering": "Dauerausstellung", "slot_id": str(day.s1),
        "starts_at": "2025-03-04T10:00:00+01:00", "ends_at": "2025-03-04T10:30:00+01:00",
        "status": "open", "capacity": "40", "sold": "6", "held": "1", "available": "33",
        "occupancy_rate": "0.1500", "tickets": "6", "admitted": "3", "no_shows": "3"}

    assert revenue.headers["content-disposition"] == (
        'attachment; filename="revenue-pools-2025-03-01-2025-03-31.csv"')
    rows = parse_csv(revenue.text)
    assert [(r["offering"], r["ticket_type"], r["sold_by"], r["combo"], r["tickets_sold"],
             r["gross_cents"], r["refunded_cents"], r["net_cents"]) for r in rows] == [
        ("Hallenbad", "adult", "pools", "false", "1", "450", "0", "450"),
        ("Hallenbad", "family", "pools", "false", "1", "1100", "0", "1100"),
        ("Kulturpass", "kulturpass", "museum", "true", "3", "1200", "400", "800"),
    ]

    json_wins = await get(ticketing, "revenue", format="json",
                          headers={**ticketing.manager_headers("museum"),
                                   "Accept": "text/csv"})
    assert json_wins.headers["content-type"].startswith("application/json")


async def test_csv_cells_a_spreadsheet_would_run_are_defused(ticketing: Any) -> None:
    day = await a_day_of_sales(ticketing)
    evil = '=HYPERLINK("http://evil.example","x")'
    rename = "UPDATE {} SET name = :n WHERE id = :id"
    await execute(ticketing, rename.format("offerings"), n=evil, id=day.demo.exhibition)
    await execute(ticketing, rename.format("ticket_types"), n="@SUM(A1:A9)",
                  id=day.demo.museum_adult)
    await execute(ticketing, rename.format("ticket_types"), n="-2+3", id=day.demo.museum_child)

    slots = parse_csv((await get(ticketing, "slots", format="csv")).text)
    revenue = parse_csv((await get(ticketing, "revenue", format="csv")).text)
    as_json = (await get(ticketing, "revenue")).json()

    assert {r["offering"] for r in slots} == {"'" + evil}
    names = {r["ticket_type"]: r["ticket_type_name"] for r in revenue}
    assert names["adult"] == "'@SUM(A1:A9)"
    assert names["child"] == "'-2+3"
    assert names["reduced"] == "Ermäßigt"
    assert {r["offering"] for r in revenue if r["ticket_type"] != "kulturpass"} == {"'" + evil}
    assert as_json["rows"][0]["offering"] == evil        # JSON carries the name as it is


# -- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("report", ["slots", "revenue"])
async def test_who_may_read_a_departments_reports(ticketing: Any, report: str) -> None:
    await a_day_of_sales(ticketing)
    h = ticketing
    allowed = {
        "museum manager": h.manager_headers("museum"),
        "museum cashier": h.staff_headers({"museum": ["cashier"]}),
        "tenant admin": h.staff_headers(admin="tenant"),
        "reading client": h.client_headers("ticketing:read"),
    }
    for who, headers in allowed.items():
        response = await get(h, report, headers)
        assert response.status_code == 200, who
        assert response.json()[report if report == "slots" else "rows"] != [], who
    denied = {
        "pools manager": h.manager_headers("pools"),
        "museum gatekeeper": h.gatekeeper_headers("museum"),
        "citizen": h.citizen_headers(),
        "writing client": h.client_headers("ticketing:write"),
    }
    for who, headers in denied.items():
        response = await get(h, report, headers)
        assert response.status_code == 403, who
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "forbidden"
    anonymous = await h.client.get(f"/reports/{report}", params={
        "department": "museum", "from": DAY.isoformat(), "to": DAY.isoformat()})
    assert anonymous.status_code == 401


async def test_another_citys_manager_sees_nothing_of_ours(ticketing: Any) -> None:
    await a_day_of_sales(ticketing)
    theirs = ticketing.staff_headers({"museum": ["manager"]}, tenant=ticketing.OTHER_TENANT)

    slots = (await get(ticketing, "slots", theirs)).json()
    revenue = (await get(ticketing, "revenue", theirs)).json()

    assert slots["tenant"] == revenue["tenant"] == ticketing.OTHER_TENANT
    assert slots["slots"] == []        # their demo slot is tomorrow; ours are not shown
    assert _strip(revenue["rows"]) == [
        _revenue_row("Dauerausstellung", "adult", "museum", False, 3, 2400, 0, 0)]


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "code"), [
    ({"from": "2025-03-05", "to": "2025-03-04"}, "invalid_report_period"),
    ({"from": "2025-01-01", "to": "2025-04-03"}, "invalid_report_period"),   # 93 days
    ({"from": "2025-03-32"}, "validation_error"),
    ({"to": "yesterday"}, "validation_error"),
    ({"department": "Museum; DROP"}, "validation_error"),
    ({"format": "xlsx"}, "validation_error"),
])
async def test_bad_periods_and_parameters_are_422_problems(
    ticketing: Any, params: dict[str, str], code: str,
) -> None:
    for report in ("slots", "revenue"):
        response = await get(ticketing, report, **params)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code


async def test_a_missing_period_is_a_422_and_a_full_quarter_is_fine(ticketing: Any) -> None:
    missing = await ticketing.client.get("/reports/slots", params={"department": "museum"},
                                         headers=ticketing.manager_headers("museum"))
    assert missing.status_code == 422
    assert {tuple(e["loc"]) for e in missing.json()["errors"]} == {("query", "from"),
                                                                  ("query", "to")}
    quarter = await get(ticketing, "revenue", **{"from": "2025-01-01", "to": "2025-04-02"})
    assert quarter.status_code == 200, quarter.text


async def test_a_combo_whose_shares_do_not_add_up_counts_whole_for_its_seller(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    # Sold at 12.00 while the shares add up to 10.00: payment booked all of it to the museum.
    await sell(ticketing, [Line(demo.kulturpass, demo.kulturpass_type, "museum", 1, 1200)])

    museum = (await get(ticketing, "revenue")).json()
    pools = (await get(ticketing, "revenue", ticketing.manager_headers("pools"),
                       department="pools")).json()

    assert [(r["offering"], r["combo"], r["gross"]) for r in museum["rows"]] == [
        ("Kulturpass", False, 1200)]
    assert pools["rows"] == []


@pytest.mark.parametrize("bad", ["0", "1700000000", "2025-3-6"])
async def test_a_report_date_that_is_a_number_is_refused_not_read_as_1970(
    ticketing: Any, bad: str,
) -> None:
    response = await get(ticketing, "slots", **{"from": bad})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
