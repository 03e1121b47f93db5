"""Concurrent scans of one single-visit ticket with different scan ids admit it exactly once,
and a negative control: the same test against a read-then-write admission (without the
database's CHECK as a safety net) admits it more than once, so the test can see the bug."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing_service.catalogue.models import Offering, TicketType
from ticketing_service.orders.models import Order, OrderLine
from ticketing_service.tickets import checkin, repository
from ticketing_service.tickets.models import Entitlement
from ticketing_service.tickets.schemas import IssuedTicket
from ticketing_service.tickets.service import issue_tickets

SCANS = 50


async def pool_ticket(harness: Any) -> tuple[Any, IssuedTicket]:
    """The demo catalogue and one confirmed single pool ticket valid now."""
    demo = await harness.demo()
    now = datetime.now(UTC)
    slot_id = await harness.add_slot(demo.indoor_pool, starts_at=now - timedelta(minutes=5),
                                     minutes=120)
    async with harness.sessions() as session, session.begin():
        offering = await session.get(Offering, demo.indoor_pool)
        ticket_type = await session.get(TicketType, demo.pool_adult)
        assert offering is not None
        assert ticket_type is not None
        order_id = uuid.uuid4()
        order = Order(
            id=order_id, tenant=harness.TENANT, account_id=harness.ERIKA, placed_by="test",
            status="confirmed", total=ticket_type.price, currency="EUR",
            reference=f"ticketing/order/{order_id}", hold_expires_at=now, confirmed_at=now,
            lines=[OrderLine(position=0, tenant=harness.TENANT, department="pools",
                             cost_centre=offering.cost_centre, offering_id=offering.id,
                             ticket_type_id=ticket_type.id, slot_id=slot_id, quantity=1,
                             places=1, unit_price=ticket_type.price, amount=ticket_type.price,
                             description="Hallenbad")])
        session.add(order)
        await session.flush()
        (ticket,) = await issue_tickets(session, order, settings=harness.settings, now=now)
    return demo, ticket


async def scan_concurrently(harness: Any, ticket: IssuedTicket) -> Counter[str]:
    headers = harness.gatekeeper_headers("pools")

    async def one(i: int) -> str:
        response = await harness.client.post("/checkins", headers=headers, json={
            "scan_id": f"gate-{i}", "department": "pools", "payload": ticket.qr_payload})
        assert response.status_code == 200, response.text
        outcome: str = response.json()["outcome"]
        return outcome

    return Counter(await asyncio.gather(*(one(i) for i in range(SCANS))))


async def test_concurrent_scans_admit_a_single_ticket_exactly_once(ticketing: Any) -> None:
    demo, ticket = await pool_ticket(ticketing)

    outcomes = await scan_concurrently(ticketing, ticket)

    assert outcomes == Counter({"admitted": 1, "already_used": SCANS - 1})
    assert await ticketing.scalar(
        "SELECT visits_used FROM ticket_entitlements WHERE ticket_id = :t",
        t=ticket.ticket_id) == 1
    assert await ticketing.scalar("SELECT present FROM venues WHERE id = :v",
                                  v=demo.pools_venue) == 1
    assert await ticketing.scalar("SELECT count(*) FROM checkins") == SCANS


async def _read_then_write(session: AsyncSession, entitlement_id: uuid.UUID) -> int | None:
    """The bug the guarded UPDATE prevents: check, then increment without the condition."""
    row = (await session.execute(
        select(Entitlement.visits_used, Entitlement.visits_total)
        .where(Entitlement.id == entitlement_id))).one()
    if row.visits_used >= row.visits_total:
        return None
    await asyncio.sleep(0.01)  # the window real latency opens between the two statements
    await session.execute(update(Entitlement).where(Entitlement.id == entitlement_id)
                          .values(visits_used=Entitlement.visits_used + 1))
    return int(row.visits_total - row.visits_used - 1)


async def test_negative_control_read_then_write_admits_more_than_once(
        ticketing: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, ticket = await pool_ticket(ticketing)
    async with ticketing.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE ticket_entitlements "
                                "DROP CONSTRAINT ck_ticket_entitlements_visits_within_total"))
    monkeypatch.setattr(repository, "admit", _read_then_write)

    outcomes = await scan_concurrently(ticketing, ticket)

    assert outcomes["admitted"] > 1


async def retry_concurrently(harness: Any, ticket: IssuedTicket) -> list[Any]:
    headers = harness.gatekeeper_headers("pools")
    body = {"scan_id": "flaky-wifi-1", "department": "pools", "payload": ticket.qr_payload}
    return list(await asyncio.gather(*(
        harness.client.post("/checkins", headers=headers, json=body) for _ in range(10)),
        return_exceptions=True))


async def test_concurrent_retries_of_one_scan_get_one_answer(ticketing: Any) -> None:
    _, ticket = await pool_ticket(ticketing)

    responses = await retry_concurrently(ticketing, ticket)

    assert [r.status_code for r in responses] == [200] * 10
    assert len({r.text for r in responses}) == 1
    assert responses[0].json()["outcome"] == "admitted"
    assert await ticketing.scalar("SELECT count(*) FROM checkins") == 1


async def test_negative_control_without_the_scan_lock_retries_collide(
        ticketing: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, ticket = await pool_ticket(ticketing)

    async def no_lock(session: AsyncSession, tenant: str, scan_id: str) -> None:
        await asyncio.sleep(0)

    monkeypatch.setattr(checkin, "_lock_scan", no_lock)

    responses = await retry_concurrently(ticketing, ticket)

    # the losers hit the unique scan id (a server error) or answer differently
    answers = {type(r).__name__ if isinstance(r, BaseException) else (r.status_code, r.text)
               for r in responses}
    assert len(answers) > 1
