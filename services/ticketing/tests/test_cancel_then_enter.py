"""Cancel, then still enter: once the citizen cancelled, the order's tickets no longer open a
gate (outcome ``cancelled``), also while the refund is still on its way and also when the scan
races the cancellation; a ticket used at a gate makes the order impossible to cancel; a failed
refund gives the tickets back."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from city_shared.auth import Principal
from city_shared.envelope import new_event
from city_shared.unit_of_work import unit_of_work
from ticketing_service.orders.cancellation import cancel_order
from ticketing_service.subscriptions import build_subscriptions
from ticketing_service.tickets.schemas import IssuedTicket


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


async def _card(h: Any) -> tuple[uuid.UUID, IssuedTicket]:
    """A confirmed order of Erika's with one 10-visit pool card (cancellable, valid now)."""
    demo = await h.demo()
    order_id, (ticket,) = await h.confirmed_order(
        [(demo.ten_visit_card, demo.ten_visit_type, None, 1)])
    async with h.engine.begin() as conn:  # paid: payment named its payment
        await conn.execute(text("UPDATE orders SET payment_id = :p WHERE id = :o"),
                           {"p": _payment_id(order_id), "o": order_id})
    return order_id, ticket


def _payment_id(order_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(order_id, "payment")


async def _scan(h: Any, ticket: IssuedTicket) -> str:
    response = await h.client.post("/checkins", headers=h.gatekeeper_headers("pools"), json={
        "scan_id": str(uuid.uuid4()), "department": "pools", "payload": ticket.qr_payload})
    assert response.status_code == 200, response.text
    outcome: str = response.json()["outcome"]
    return outcome


async def _cancel(h: Any, order_id: uuid.UUID, expect: int) -> dict[str, Any]:
    response = await h.client.post(f"/orders/{order_id}/cancel", headers={
        **h.citizen_headers(), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def _visits_used(h: Any, ticket: IssuedTicket) -> int:
    used: int = await h.scalar(
        "SELECT visits_used FROM ticket_entitlements WHERE ticket_id = :t", t=ticket.ticket_id)
    return used


async def _refund_failed(h: Any, order_id: uuid.UUID) -> None:
    reference = f"ticketing/order/{order_id}"
    event = new_event(
        type="city.payment.refund.failed.v1", source="/payment", subject=reference,
        tenant=h.TENANT, data=_Data(
            refund_id=str(uuid.uuid4()), payment_id=str(_payment_id(order_id)), tenant=h.TENANT,
            source="ticketing", reference=reference, amount=4000, currency="EUR",
            reason="cancelled_by_citizen", refunded_amount=0))
    [handler] = [s.handler for s in build_subscriptions(h.settings)
                 if s.event_type == event.type]
    async with unit_of_work(h.sessions) as session:
        await handler(session, event)


async def test_a_cancelled_order_does_not_open_the_gate_while_the_refund_is_pending(
    ticketing: Any,
) -> None:
    h = ticketing
    order_id, card = await _card(h)

    cancelled = await _cancel(h, order_id, 202)
    assert cancelled["status"] == "cancellation_requested"

    assert await _scan(h, card) == "cancelled"
    assert await _visits_used(h, card) == 0
    assert await h.outbox("city.ticketing.ticket.checked_in.v1") == []

    # The refund failed: the order is confirmed again and so is the card.
    await _refund_failed(h, order_id)
    assert await _scan(h, card) == "admitted"
    assert await _visits_used(h, card) == 1


async def test_a_used_ticket_makes_the_order_impossible_to_cancel(ticketing: Any) -> None:
    h = ticketing
    order_id, card = await _card(h)
    assert await _scan(h, card) == "admitted"

    problem = await _cancel(h, order_id, 409)

    assert problem["code"] == "tickets_used"
    assert await h.outbox("city.payment.refund.request.v1") == []
    assert await _scan(h, card) == "admitted"


async def test_a_scan_racing_the_cancellation_waits_for_it_and_is_refused(
    ticketing: Any,
) -> None:
    """The cancellation has locked the order and not committed yet when the gate scans: the
    scan waits for it and then refuses (without waiting it would admit: its snapshot still
    says ``confirmed``)."""
    h = ticketing
    order_id, card = await _card(h)
    erika = Principal(sub=str(h.ERIKA), tenant=h.TENANT, kind="citizen", acr="basic")

    async with unit_of_work(h.sessions) as session:
        order = await cancel_order(session, erika, order_id, now=await _db_now(h))
        assert order.status == "cancellation_requested"
        scan = asyncio.create_task(_scan(h, card))
        await _until_waiting_or_done(h, scan)
    assert await scan == "cancelled"
    assert await _visits_used(h, card) == 0


async def _db_now(h: Any) -> Any:
    return await h.scalar("SELECT now()")


async def _until_waiting_or_done(h: Any, scan: asyncio.Task[str]) -> None:
    """Return once some session of this database waits for a lock, or ``scan`` answered."""
    while not scan.done():
        if await h.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                          "current_database() AND wait_event_type = 'Lock'"):
            return
        await asyncio.sleep(0.01)
