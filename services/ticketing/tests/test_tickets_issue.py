"""Issuing and voiding the tickets of a confirmed order: tickets per line and quantity, their
entitlements (single, 10-visit card, Kulturpass), validity windows, events, idempotency, and
payloads that verify with the public keys alone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing_service.orders.models import Order
from ticketing_service.tickets import repository
from ticketing_service.tickets.schemas import IssuedTicket
from ticketing_service.tickets.service import CODE_ALPHABET, issue_tickets, void_tickets
from ticketing_service.tickets.signing import verify

ISSUED = "city.ticketing.ticket.issued.v1"
VOIDED = "city.ticketing.ticket.voided.v1"

Line = tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, int]


async def reissue(harness: Any, order_id: uuid.UUID) -> list[IssuedTicket]:
    async with harness.sessions() as session, session.begin():
        order = (await session.scalars(select(Order).where(Order.id == order_id))).one()
        return await issue_tickets(session, order, settings=harness.settings,
                                   now=datetime.now(UTC))


async def void(harness: Any, order_id: uuid.UUID, reason: str = "refunded") -> int:
    async with harness.sessions() as session, session.begin():
        order = (await session.scalars(select(Order).where(Order.id == order_id))).one()
        return await void_tickets(session, order, reason=reason, now=datetime.now(UTC))


async def jwks(harness: Any) -> dict[str, Any]:
    response = await harness.client.get("/tickets/keys")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_tickets_per_line_and_quantity_with_their_entitlements(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order_id, issued = await ticketing.confirmed_order([
        (demo.exhibition, demo.museum_adult, demo.exhibition_slot, 2),
        (demo.ten_visit_card, demo.ten_visit_type, None, 1),
        (demo.kulturpass, demo.kulturpass_type, None, 1),
    ])

    assert [t.ticket_type_name for t in issued] == ["Erwachsene", "Erwachsene", "10er-Karte",
                                                     "Kulturpass"]
    assert [t.visits for t in issued] == [1, 1, 10, 2]
    assert len({t.code for t in issued}) == 4
    assert all(len(t.code) == 12 and set(t.code) <= set(CODE_ALPHABET) for t in issued)
    assert all(t.page_url == f"{ticketing.BASE_URL}/tickets/{t.ticket_id}" for t in issued)
    rows = await ticketing.rows(
        "SELECT t.code, e.department, e.visits_total, e.visits_used, e.slot_id, "
        "t.holder_account_id FROM tickets t JOIN ticket_entitlements e ON e.ticket_id = t.id "
        "WHERE t.order_id = :o ORDER BY t.code, e.department", o=order_id)
    by_code: dict[str, list[tuple[str, int, int, uuid.UUID | None]]] = {}
    for code, department, total, used, slot_id, holder in rows:
        assert holder == ticketing.ERIKA
        assert used == 0
        by_code.setdefault(code, []).append((department, total, used, slot_id))
    adult, _, card, kulturpass = issued
    assert by_code[adult.code] == [("museum", 1, 0, demo.exhibition_slot)]
    assert by_code[card.code] == [("pools", 10, 0, None)]
    assert by_code[kulturpass.code] == [("museum", 1, 0, None), ("pools", 1, 0, None)]


async def test_validity_windows(ticketing: Any) -> None:
    demo = await ticketing.demo()
    now = datetime.now(UTC).replace(microsecond=0)
    slot_start = await ticketing.scalar("SELECT starts_at FROM slots WHERE id = :s",
                                        s=demo.exhibition_slot)
    _, (timed, card, kulturpass) = await ticketing.confirmed_order([
        (demo.exhibition, demo.museum_adult, demo.exhibition_slot, 1),
        (demo.ten_visit_card, demo.ten_visit_type, None, 1),
        (demo.kulturpass, demo.kulturpass_type, None, 1),
    ], now=now)

    early = ticketing.settings.checkin_early_minutes
    assert timed.starts_at == slot_start
    assert timed.ends_at == slot_start + timedelta(minutes=30)
    assert timed.valid_from == slot_start - timedelta(minutes=early)
    assert timed.valid_until == timed.ends_at
    for ticket in (card, kulturpass):
        assert ticket.starts_at is None
        assert ticket.valid_from == now
        assert ticket.valid_until == now + timedelta(days=365)


async def test_issued_events_one_per_ticket_without_personal_data(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order_id, issued = await ticketing.confirmed_order([
        (demo.kulturpass, demo.kulturpass_type, None, 1),
        (demo.indoor_pool, demo.pool_adult, demo.pool_slot, 2),
    ])

    rows = await ticketing.outbox(ISSUED)
    assert [r.key for r in rows] == [str(t.ticket_id) for t in issued]
    assert {r.topic for r in rows} == {"ticketing.tickets"}
    kp = rows[0]
    assert kp.attributes["source"] == "/ticketing"
    assert kp.attributes["subject"] == str(issued[0].ticket_id)
    assert kp.attributes["department"] == "museum"
    assert kp.data["order_id"] == str(order_id)
    assert kp.data["offering_id"] == str(demo.kulturpass)
    assert kp.data["ticket_type_id"] == str(demo.kulturpass_type)
    assert kp.data["code"] == issued[0].code
    assert kp.data["entitlements"] == [
        {"department": "museum", "offering_id": str(demo.exhibition), "visits": 1},
        {"department": "pools", "offering_id": str(demo.indoor_pool), "visits": 1},
    ]
    assert rows[1].attributes["department"] == "pools"
    text = str([r.data for r in rows])
    assert str(ticketing.ERIKA) not in text


async def test_issuing_twice_returns_the_same_tickets_and_writes_nothing(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order_id, first = await ticketing.confirmed_order([
        (demo.exhibition, demo.museum_adult, demo.exhibition_slot, 3),
        (demo.kulturpass, demo.kulturpass_type, None, 1),
    ])

    again = await reissue(ticketing, order_id)

    assert again == first
    assert await ticketing.scalar("SELECT count(*) FROM tickets") == 4
    assert await ticketing.scalar("SELECT count(*) FROM ticket_entitlements") == 5
    assert len(await ticketing.outbox(ISSUED)) == 4


async def test_payload_verifies_with_the_public_jwks_alone(ticketing: Any) -> None:
    demo = await ticketing.demo()
    _, (ticket,) = await ticketing.confirmed_order([
        (demo.kulturpass, demo.kulturpass_type, None, 1)])

    keys = await jwks(ticketing)
    assert all("d" not in key for key in keys["keys"])
    claims = verify(ticket.qr_payload, keys)

    assert claims.tid == ticket.ticket_id
    assert claims.c == ticket.code
    assert claims.tn == ticketing.TENANT
    assert claims.d == ["museum", "pools"]
    assert claims.exp == int(ticket.valid_until.timestamp())


async def test_voiding_voids_valid_tickets_once(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order_id, issued = await ticketing.confirmed_order([
        (demo.indoor_pool, demo.pool_adult, demo.pool_slot, 2)])

    assert await void(ticketing, order_id, "refunded") == 2
    assert await void(ticketing, order_id, "refunded") == 0

    statuses = await ticketing.rows("SELECT status, void_reason FROM tickets")
    assert [tuple(r) for r in statuses] == [("voided", "refunded")] * 2
    rows = await ticketing.outbox(VOIDED)
    assert sorted(r.key for r in rows) == sorted(str(t.ticket_id) for t in issued)
    assert {r.data["reason"] for r in rows} == {"refunded"}
    assert {r.data["order_id"] for r in rows} == {str(order_id)}
    # issuing after voiding gives the (voided) tickets back, never fresh valid ones
    assert [t.ticket_id for t in await reissue(ticketing, order_id)] == [
        t.ticket_id for t in issued]
    assert await ticketing.scalar("SELECT count(*) FROM tickets WHERE status = 'valid'") == 0


async def issue_concurrently(harness: Any, order_id: uuid.UUID) -> list[list[IssuedTicket]]:
    return list(await asyncio.gather(*(reissue(harness, order_id) for _ in range(5))))


async def test_concurrent_issuing_of_one_order_issues_once(
        ticketing: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = await ticketing.demo()
    order_id, _ = await ticketing.confirmed_order([
        (demo.indoor_pool, demo.pool_adult, demo.pool_slot, 2)], issue=False)
    real_lock = repository.lock_order

    async def lock_then_linger(session: AsyncSession, order_id: uuid.UUID) -> None:
        await real_lock(session, order_id)
        await asyncio.sleep(0.05)  # keep the calls overlapping

    monkeypatch.setattr(repository, "lock_order", lock_then_linger)

    results = await issue_concurrently(ticketing, order_id)

    assert all(r == results[0] for r in results)
    assert await ticketing.scalar("SELECT count(*) FROM tickets") == 2
    assert len(await ticketing.outbox(ISSUED)) == 2


async def test_negative_control_without_the_order_lock_issues_twice(
        ticketing: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = await ticketing.demo()
    order_id, _ = await ticketing.confirmed_order([
        (demo.indoor_pool, demo.pool_adult, demo.pool_slot, 2)], issue=False)

    async def no_lock(session: AsyncSession, order_id: uuid.UUID) -> None:
        await asyncio.sleep(0.05)

    monkeypatch.setattr(repository, "lock_order", no_lock)

    await issue_concurrently(ticketing, order_id)

    assert await ticketing.scalar("SELECT count(*) FROM tickets") > 2
