"""``account.erased``: the person leaves their orders and tickets in that city, the sales stay
(amounts, tickets, reports), a second delivery changes nothing, other people and other cities
are left alone, and an event that contradicts itself is dead-lettered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event, new_event
from ticketing_service.erasure import (
    ACCOUNT_ERASED,
    IDENTITY_ACCOUNTS_TOPIC,
    SUBSCRIPTIONS,
    on_account_erased,
)
from ticketing_service.orders.models import ERASED_PLACED_BY, Order, OrderLine
from ticketing_service.tickets.models import Ticket

pytestmark = pytest.mark.integration


class _Erased(BaseModel):
    account_id: str
    tenant: str


def erased(account_id: uuid.UUID | str, tenant: str = "musterstadt",
           event_tenant: str | None = None) -> Event:
    return new_event(type=ACCOUNT_ERASED, source="/identity", subject=str(account_id),
                     tenant=event_tenant or tenant,
                     data=_Erased(account_id=str(account_id), tenant=tenant))


async def deliver(h: Any, event: Event) -> None:
    async with h.sessions() as session, session.begin():
        await on_account_erased(session, event)


async def an_order(h: Any, demo: Any, account: uuid.UUID, *, tenant: str = "musterstadt",
                   email: str = "erika@example.org", placed_by: str | None = None,
                   quantity: int = 2) -> uuid.UUID:
    """A confirmed museum order of ``account`` with its tickets held by ``account``."""
    now = datetime.now(UTC)
    order_id = uuid.uuid4()
    async with h.sessions() as session, session.begin():
        order = Order(id=order_id, tenant=tenant, account_id=account, contact_email=email,
                      placed_by=placed_by or str(account), status="confirmed",
                      total=800 * quantity, currency="EUR",
                      reference=f"ticketing/order/{order_id}",
                      hold_expires_at=now + timedelta(minutes=15), confirmed_at=now)
        line = OrderLine(id=uuid.uuid4(), position=0, tenant=tenant, department="museum",
                         cost_centre="MUS-4100", offering_id=demo.exhibition,
                         ticket_type_id=demo.museum_adult, slot_id=demo.exhibition_slot,
                         quantity=quantity, places=1, unit_price=800, amount=800 * quantity,
                         description="Dauerausstellung, Erwachsene")
        order.lines.append(line)
        session.add(order)
        await session.flush()
        for _ in range(quantity):
            session.add(Ticket(
                tenant=tenant, department="museum", order_id=order_id, order_line_id=line.id,
                offering_id=demo.exhibition, ticket_type_id=demo.museum_adult,
                slot_id=demo.exhibition_slot, code=uuid.uuid4().hex[:12].upper(),
                holder_account_id=account, valid_from=now, valid_until=now + timedelta(days=1)))
    return order_id


async def order_row(h: Any, order_id: uuid.UUID) -> Any:
    [row] = await h.rows(
        "SELECT account_id, contact_email, placed_by, erased, version, status, total "
        "FROM orders WHERE id = :id", id=order_id)
    return row


async def holders(h: Any, order_id: uuid.UUID) -> list[Any]:
    return [r[0] for r in await h.rows(
        "SELECT holder_account_id FROM tickets WHERE order_id = :id ORDER BY code", id=order_id)]


def test_the_worker_subscribes_to_identitys_erasures() -> None:
    assert [(s.topic, s.event_type, s.handler) for s in SUBSCRIPTIONS] == [
        (IDENTITY_ACCOUNTS_TOPIC, "city.identity.account.erased.v1", on_account_erased)]


async def test_erasure_removes_the_buyer_and_keeps_the_sale_even_when_delivered_twice(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    erikas = [await an_order(ticketing, demo, ticketing.ERIKA),
              await an_order(ticketing, demo, ticketing.ERIKA, quantity=1)]
    cashier_sold = await an_order(ticketing, demo, ticketing.ERIKA, placed_by="cashier-7")
    maxs = await an_order(ticketing, demo, ticketing.MAX, email="max@example.org")
    event = erased(ticketing.ERIKA)

    for _ in range(2):
        await deliver(ticketing, event)
        for order_id in erikas:
            row = await order_row(ticketing, order_id)
            assert (row.account_id, row.contact_email, row.erased) == (None, None, True)
            assert row.placed_by == ERASED_PLACED_BY
            assert (row.status, row.version) == ("confirmed", 2)   # changed once, not twice
            assert set(await holders(ticketing, order_id)) == {None}
        assert (await order_row(ticketing, cashier_sold)).placed_by == "cashier-7"

    assert [(await order_row(ticketing, o)).total for o in erikas] == [1600, 800]
    assert await ticketing.scalar(
        "SELECT count(*) FROM tickets WHERE order_id = ANY(:ids) AND status = 'valid'",
        ids=erikas) == 3
    other = await order_row(ticketing, maxs)
    assert (other.account_id, other.contact_email, other.erased) == (
        ticketing.MAX, "max@example.org", False)
    assert set(await holders(ticketing, maxs)) == {ticketing.MAX}


async def test_erasure_in_another_city_leaves_these_orders_alone(ticketing: Any) -> None:
    ours = await ticketing.demo()
    theirs = await ticketing.demo(tenant=ticketing.OTHER_TENANT)
    here = await an_order(ticketing, ours, ticketing.ERIKA)
    there = await an_order(ticketing, theirs, ticketing.ERIKA, tenant=ticketing.OTHER_TENANT)

    await deliver(ticketing, erased(ticketing.ERIKA, tenant=ticketing.OTHER_TENANT))

    kept = await order_row(ticketing, here)
    assert (kept.account_id, kept.contact_email, kept.erased) == (
        ticketing.ERIKA, "erika@example.org", False)
    assert set(await holders(ticketing, here)) == {ticketing.ERIKA}
    gone = await order_row(ticketing, there)
    assert (gone.account_id, gone.erased) == (None, True)
    assert set(await holders(ticketing, there)) == {None}


async def test_an_erasure_event_that_contradicts_itself_or_lacks_data_is_rejected(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    order_id = await an_order(ticketing, demo, ticketing.ERIKA)

    with pytest.raises(PermanentFailure):
        await deliver(ticketing, erased(ticketing.ERIKA, event_tenant=ticketing.OTHER_TENANT))
    with pytest.raises(ValidationError):
        await deliver(ticketing, erased("not-an-account"))

    assert (await order_row(ticketing, order_id)).account_id == ticketing.ERIKA
