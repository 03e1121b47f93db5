"""Check-in at the gate through the API: every outcome, per-scan idempotency, combos and
multi-visit cards, rotation of the signing key, exits and occupancy, who may scan, and bad
bodies (4xx problem+json, never 500)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing_service.orders.models import Order
from ticketing_service.tickets.schemas import IssuedTicket
from ticketing_service.tickets.service import tickets_used, void_tickets
from ticketing_service.tickets.signing import TicketClaims, TicketSigner

CHECKED_IN = "city.ticketing.ticket.checked_in.v1"

Line = tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, int]


async def slot_now(harness: Any, offering_id: uuid.UUID) -> uuid.UUID:
    """A slot of ``offering_id`` that started ten minutes ago and runs two hours."""
    return await harness.add_slot(offering_id,  # type: ignore[no-any-return]
                                  starts_at=datetime.now(UTC) - timedelta(minutes=10),
                                  minutes=120)


async def one_ticket(harness: Any, offering_id: uuid.UUID, type_id: uuid.UUID,
                     slot_id: uuid.UUID | None = None) -> IssuedTicket:
    _, (ticket,) = await harness.confirmed_order([(offering_id, type_id, slot_id, 1)])
    return ticket


async def scan(harness: Any, ticket: IssuedTicket | None = None, *, department: str = "pools",
               headers: dict[str, str] | None = None, scan_id: str | None = None,
               **body: Any) -> Any:
    payload: dict[str, Any] = {"scan_id": scan_id or str(uuid.uuid4()),
                               "department": department, **body}
    if ticket is not None and "code" not in body and "payload" not in body:
        payload["payload"] = ticket.qr_payload
    return await harness.client.post(
        "/checkins", json=payload, headers=headers or harness.gatekeeper_headers(department))


async def outcome(harness: Any, ticket: IssuedTicket | None = None, **kwargs: Any) -> str:
    response = await scan(harness, ticket, **kwargs)
    assert response.status_code == 200, response.text
    result: str = response.json()["outcome"]
    return result


async def visits_used(harness: Any, ticket: IssuedTicket) -> list[int]:
    rows = await harness.rows("SELECT visits_used FROM ticket_entitlements WHERE ticket_id = :t "
                              "ORDER BY department", t=ticket.ticket_id)
    return [r[0] for r in rows]


async def present(harness: Any, venue_id: uuid.UUID) -> int:
    return await harness.scalar(  # type: ignore[no-any-return]
        "SELECT present FROM venues WHERE id = :v", v=venue_id)


@asynccontextmanager
async def harness_session(harness: Any, order_id: uuid.UUID | None = None) -> AsyncIterator[
        tuple[AsyncSession, Order]]:
    """A session and an order (the given one, else the only one)."""
    async with harness.sessions() as session, session.begin():
        query = select(Order) if order_id is None else select(Order).where(Order.id == order_id)
        yield session, (await session.scalars(query)).one()


def tamper(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


# -- outcomes ------------------------------------------------------------------------------------


async def test_first_scan_admits_second_is_already_used(ticketing: Any) -> None:
    demo = await ticketing.demo()
    ticket = await one_ticket(ticketing, demo.indoor_pool, demo.pool_adult,
                              await slot_now(ticketing, demo.indoor_pool))

    first = await scan(ticketing, ticket, gate="Drehkreuz 1")
    second = await scan(ticketing, ticket)

    assert first.status_code == 200
    body = first.json()
    assert body["outcome"] == "admitted"
    assert body["ticket"] == {"ticket_id": str(ticket.ticket_id), "code": ticket.code,
                              "ticket_type_name": "Erwachsene", "visits_left": 0}
    assert second.json()["outcome"] == "already_used"
    assert await visits_used(ticketing, ticket) == [1]
    events = await ticketing.outbox(CHECKED_IN)
    assert len(events) == 1
    assert events[0].key == str(ticket.ticket_id)
    assert events[0].data == {"ticket_id": str(ticket.ticket_id), "tenant": ticketing.TENANT,
                              "department": "pools", "venue_id": str(demo.pools_venue),
                              "visits_left": 0}
    audit = await ticketing.rows("SELECT outcome, gate, ticket_id FROM checkins ORDER BY id")
    assert [tuple(r) for r in audit] == [("admitted", "Drehkreuz 1", ticket.ticket_id),
                                         ("already_used", None, ticket.ticket_id)]


async def test_retried_scan_gets_the_stored_answer_and_uses_no_second_visit(
        ticketing: Any) -> None:
    demo = await ticketing.demo()
    ticket = await one_ticket(ticketing, demo.indoor_pool, demo.pool_adult,
                              await slot_now(ticketing, demo.indoor_pool))

    first = await scan(ticketing, ticket, scan_id="gate-1-0001")
    other = await scan(ticketing, ticket, scan_id="gate-2-0001")
    retry = await scan(ticketing, ticket, scan_id="gate-1-0001")

    assert first.json()["outcome"] == "admitted"
    assert other.json()["outcome"] == "already_used"
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert await visits_used(ticketing, ticket) == [1]
    assert await ticketing.scalar("SELECT count(*) FROM checkins") == 2
    assert len(await ticketing.outbox(CHECKED_IN)) == 1


async def test_same_scan_id_with_another_body_is_refused(ticketing: Any) -> None:
    demo = await ticketing.demo()
    card = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)
    assert await outcome(ticketing, card, scan_id="s-1") == "admitted"

    response = await scan(ticketing, card, scan_id="s-1", gate="another gate")

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "scan_id_reused"
    assert await visits_used(ticketing, card) == [1]


async def test_tampered_payload_is_invalid_signature_and_tells_nothing(ticketing: Any) -> None:
    demo = await ticketing.demo()
    card = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)
    header, body, signature = card.qr_payload.split(".")
    flipped_body = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]

    for payload in (f"{header}.{flipped_body}.{signature}",
                    f"{header}.{body}.{tamper(signature)}",
                    "not-a-jws", "a.b.c"):
        response = await scan(ticketing, payload=payload)
        assert response.status_code == 200
        assert response.json()["outcome"] == "invalid_signature"
        assert response.json()["ticket"] is None
    assert await visits_used(ticketing, card) == [0]


async def test_valid_signature_of_a_ticket_that_does_not_exist_is_unknown(
        ticketing: Any) -> None:
    await ticketing.demo()
    signer = TicketSigner(ticketing.settings.ticket_signing_keys)
    now = datetime.now(UTC)
    forged = signer.sign(TicketClaims(tid=uuid.uuid4(), c="0000000000ZZ",
                                      tn=ticketing.TENANT, d=["pools"],
                                      nbf=int(now.timestamp()),
                                      exp=int((now + timedelta(days=1)).timestamp())))

    assert await outcome(ticketing, payload=forged) == "unknown"
    assert await outcome(ticketing, code="0000-0000-00ZZ") == "unknown"


async def test_typed_code_is_normalised(ticketing: Any) -> None:
    demo = await ticketing.demo()
    card = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)
    typed = "-".join([card.code[:4], card.code[4:8], card.code[8:]]).lower()

    assert await outcome(ticketing, code=typed) == "admitted"


async def test_museum_ticket_at_the_pools_gate_is_wrong_department(ticketing: Any) -> None:
    demo = await ticketing.demo()
    ticket = await one_ticket(ticketing, demo.exhibition, demo.museum_adult,
                              await slot_now(ticketing, demo.exhibition))

    assert await outcome(ticketing, ticket, department="pools") == "wrong_department"
    assert await visits_used(ticketing, ticket) == [0]
    assert await outcome(ticketing, ticket, department="museum") == "admitted"


async def test_kulturpass_admits_once_at_the_museum_and_once_at_the_pools(
        ticketing: Any) -> None:
    demo = await ticketing.demo()
    kp = await one_ticket(ticketing, demo.kulturpass, demo.kulturpass_type)

    assert await outcome(ticketing, kp, department="museum") == "admitted"
    assert await outcome(ticketing, kp, department="pools") == "admitted"
    assert await outcome(ticketing, kp, department="museum") == "already_used"
    assert await outcome(ticketing, kp, department="pools") == "already_used"
    assert await visits_used(ticketing, kp) == [1, 1]
    assert await present(ticketing, demo.museum_venue) == 1
    assert await present(ticketing, demo.pools_venue) == 1


async def test_ten_visit_card_admits_ten_times(ticketing: Any) -> None:
    demo = await ticketing.demo()
    card = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)
    async with harness_session(ticketing) as (session, order):
        assert not await tickets_used(session, order)

    lefts = []
    for _ in range(10):
        response = await scan(ticketing, card)
        assert response.json()["outcome"] == "admitted"
        lefts.append(response.json()["ticket"]["visits_left"])

    assert lefts == list(range(9, -1, -1))
    async with harness_session(ticketing) as (session, order):
        assert await tickets_used(session, order)
    assert await outcome(ticketing, card) == "already_used"
    assert await visits_used(ticketing, card) == [10]


async def test_voided_ticket_is_refused(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order_id, (card,) = await ticketing.confirmed_order(
        [(demo.ten_visit_card, demo.ten_visit_type, None, 1)])
    async with ticketing.sessions() as session, session.begin():
        order = (await session.scalars(select(Order).where(Order.id == order_id))).one()
        await void_tickets(session, order, reason="refunded", now=datetime.now(UTC))

    assert await outcome(ticketing, card) == "voided"
    assert await outcome(ticketing, code=card.code) == "voided"
    assert await visits_used(ticketing, card) == [0]


async def test_before_the_early_window_is_not_valid_now(ticketing: Any) -> None:
    demo = await ticketing.demo()
    later = await ticketing.add_slot(demo.indoor_pool,
                                     starts_at=datetime.now(UTC) + timedelta(days=3))
    ticket = await one_ticket(ticketing, demo.indoor_pool, demo.pool_adult, later)
    almost = await ticketing.add_slot(
        demo.indoor_pool, starts_at=datetime.now(UTC) + timedelta(
            minutes=ticketing.settings.checkin_early_minutes - 5))
    early_bird = await one_ticket(ticketing, demo.indoor_pool, demo.pool_adult, almost)

    assert await outcome(ticketing, ticket) == "not_valid_now"
    assert await visits_used(ticketing, ticket) == [0]
    assert await outcome(ticketing, early_bird) == "admitted"


async def test_ticket_signed_with_the_previous_key_still_admits(ticketing: Any) -> None:
    demo = await ticketing.demo()
    card = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)
    signer = TicketSigner(ticketing.settings.ticket_signing_keys)
    now = datetime.now(UTC)
    old = signer.sign(TicketClaims(tid=card.ticket_id, c=card.code, tn=ticketing.TENANT,
                                   d=["pools"], nbf=int(now.timestamp()),
                                   exp=int((now + timedelta(days=1)).timestamp())),
                      key_index=1)
    assert old.split(".")[0] != card.qr_payload.split(".")[0]  # another kid

    assert await outcome(ticketing, payload=old) == "admitted"


async def test_a_ticket_of_another_tenant_is_unknown(ticketing: Any) -> None:
    demo = await ticketing.demo()
    await ticketing.demo(tenant=ticketing.OTHER_TENANT)
    card = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)
    other_gate = ticketing.staff_headers({"pools": ["gatekeeper"]},
                                         tenant=ticketing.OTHER_TENANT)

    assert await outcome(ticketing, card, headers=other_gate) == "unknown"
    assert await outcome(ticketing, code=card.code, headers=other_gate) == "unknown"
    assert await visits_used(ticketing, card) == [0]


# -- exits and occupancy -------------------------------------------------------------------------


async def test_exit_lowers_occupancy_never_below_zero(ticketing: Any) -> None:
    demo = await ticketing.demo()
    card = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)
    other = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)

    assert await outcome(ticketing, card) == "admitted"
    assert await outcome(ticketing, other) == "admitted"
    assert await present(ticketing, demo.pools_venue) == 2
    assert await outcome(ticketing, card, direction="exit") == "exited"
    assert await present(ticketing, demo.pools_venue) == 1
    # the same ticket cannot leave twice
    assert await outcome(ticketing, card, direction="exit") == "not_admitted"
    assert await present(ticketing, demo.pools_venue) == 1
    # the count was reset (e.g. at closing time) while a person is still inside
    async with ticketing.engine.begin() as conn:
        await conn.execute(text("UPDATE venues SET present = 0 WHERE id = :v"),
                           {"v": demo.pools_venue})
    assert await outcome(ticketing, other, direction="exit") == "exited"
    assert await present(ticketing, demo.pools_venue) == 0
    # exits use no visit
    assert await visits_used(ticketing, card) == [1]

    response = await ticketing.client.get(f"/venues/{demo.pools_venue}/occupancy",
                                          headers=ticketing.gatekeeper_headers("pools"))
    assert response.status_code == 200
    assert response.json()["present"] == 0
    assert response.json()["max_occupancy"] == 300


async def test_exit_of_a_ticket_never_admitted_changes_nothing(ticketing: Any) -> None:
    demo = await ticketing.demo()
    card = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)
    admitted = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)
    assert await outcome(ticketing, admitted) == "admitted"

    assert await outcome(ticketing, card, direction="exit") == "not_admitted"
    assert await present(ticketing, demo.pools_venue) == 1
    assert await outcome(ticketing, card, direction="exit",
                         department="museum") == "wrong_department"


async def test_occupancy_access(ticketing: Any) -> None:
    demo = await ticketing.demo()
    other = await ticketing.demo(tenant=ticketing.OTHER_TENANT)
    url = f"/venues/{demo.pools_venue}/occupancy"

    for headers, status in [
        (ticketing.staff_headers({"pools": ["cashier"]}), 200),
        (ticketing.staff_headers(admin="tenant"), 200),
        (ticketing.client_headers("ticketing:read"), 200),
        (ticketing.gatekeeper_headers("museum"), 403),
        (ticketing.citizen_headers(), 403),
        (ticketing.client_headers("ticketing:write"), 403),
        (ticketing.staff_headers({"pools": ["gatekeeper"]}, tenant=ticketing.OTHER_TENANT),
         404),
    ]:
        response = await ticketing.client.get(url, headers=headers)
        assert response.status_code == status, (headers, response.text)
    response = await ticketing.client.get(f"/venues/{other.pools_venue}/occupancy",
                                          headers=ticketing.gatekeeper_headers("pools"))
    assert response.status_code == 404
    assert response.json()["code"] == "venue_not_found"
    assert (await ticketing.client.get(url)).status_code == 401


# -- who may scan, bad bodies --------------------------------------------------------------------


async def test_only_gate_staff_of_the_department_scan(ticketing: Any) -> None:
    demo = await ticketing.demo()
    card = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)

    for headers in (ticketing.gatekeeper_headers("museum"), ticketing.citizen_headers(),
                    ticketing.staff_headers({"pools": ["cashier"]}),
                    ticketing.client_headers(), ticketing.staff_headers(admin="tenant")):
        response = await scan(ticketing, card, headers=headers)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await ticketing.client.post("/checkins", json={
        "scan_id": "x", "department": "pools", "code": card.code})).status_code == 401
    assert await ticketing.scalar("SELECT count(*) FROM checkins") == 0
    assert await visits_used(ticketing, card) == [0]
    assert await outcome(ticketing, card, headers=ticketing.manager_headers("pools")) == (
        "admitted")


async def test_bad_bodies_are_4xx_problems(ticketing: Any) -> None:
    demo = await ticketing.demo()
    card = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)
    headers = ticketing.gatekeeper_headers("pools")
    base = {"scan_id": "s", "department": "pools"}
    bodies: list[Any] = [
        {},
        {"department": "pools", "code": card.code},
        {**base},
        {**base, "code": card.code, "payload": card.qr_payload},
        {**base, "scan_id": "", "code": card.code},
        {**base, "scan_id": "x" * 101, "code": card.code},
        {**base, "code": card.code, "direction": "sideways"},
        {**base, "department": "Pools!", "code": card.code},
        {**base, "code": card.code, "venue_id": "not-a-uuid"},
        {**base, "code": ""},
        {**base, "code": "x" * 41},
        {**base, "payload": "x" * 3000},
        {**base, "code": card.code, "unexpected": 1},
        {**base, "code": 12345},
        [1, 2, 3],
        "just a string",
    ]
    for body in bodies:
        response = await ticketing.client.post("/checkins", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    response = await ticketing.client.post(
        "/checkins", content=b"{not json", headers={**headers,
                                                   "content-type": "application/json"})
    assert 400 <= response.status_code < 500
    # a venue of another department, or none at all
    for venue_id in (demo.museum_venue, uuid.uuid4()):
        response = await scan(ticketing, card, venue_id=str(venue_id))
        assert response.status_code == 404
        assert response.json()["code"] == "venue_not_found"
    assert await visits_used(ticketing, card) == [0]
    assert await ticketing.scalar("SELECT count(*) FROM checkins") == 0


async def test_scan_with_an_explicit_venue_counts_there(ticketing: Any) -> None:
    demo = await ticketing.demo()
    card = await one_ticket(ticketing, demo.ten_visit_card, demo.ten_visit_type)

    assert await outcome(ticketing, card, venue_id=str(demo.pools_venue)) == "admitted"

    assert await present(ticketing, demo.pools_venue) == 1
    assert await ticketing.scalar("SELECT venue_id FROM checkins") == demo.pools_venue
