"""``account.erased``: the person leaves their orders and tickets in that city, the sales stay
(amounts, tickets, reports), a second delivery changes nothing, other people and other cities
are left alone, and an event that contradicts itself is dead-lettered."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event, new_event
from city_shared.unit_of_work import unit_of_work
from ticketing_service.erasure import (
    ACCOUNT_ERASED,
    IDENTITY_ACCOUNTS_TOPIC,
    SUBSCRIPTIONS,
    on_account_erased,
)
from ticketing_service.orders.models import ERASED_PLACED_BY
from ticketing_service.subscriptions import build_subscriptions


class _Erased(BaseModel):
    account_id: str
    tenant: str


def erased(account_id: uuid.UUID | str, tenant: str = "musterstadt",
           event_tenant: str | None = None) -> Event:
    return new_event(type=ACCOUNT_ERASED, source="/identity", subject=str(account_id),
                     tenant=event_tenant or tenant,
                     data=_Erased(account_id=str(account_id), tenant=tenant))


async def deliver(h: Any, event: Event) -> None:
    async with unit_of_work(h.sessions) as session:
        await on_account_erased(session, event)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


async def _paid(h: Any, order: dict[str, Any]) -> None:
    """Payment's answers for ``order``: created, then succeeded (the saga confirms it)."""
    pid = str(uuid.uuid5(uuid.UUID(order["order_id"]), "payment"))
    handlers = {s.event_type: s.handler for s in build_subscriptions(h.settings)
                if s.topic == "payment.payments"}
    for kind in ("created", "succeeded"):
        event = new_event(
            type=f"city.payment.payment.{kind}.v1", source="/payment", subject=pid,
            tenant=order["tenant"], data=_Answer(
                payment_id=pid, tenant=order["tenant"], source="ticketing",
                reference=order["reference"], amount=order["total"], currency="EUR",
                status=kind, reason=None))
        async with unit_of_work(h.sessions) as session:
            await handlers[event.type](session, event)


async def an_order(h: Any, demo: Any, account: uuid.UUID, *, tenant: str = "musterstadt",
                   by_client: bool = False, email: str = "erika@example.org",
                   quantity: int = 2) -> uuid.UUID:
    """A paid museum order of ``account`` placed through the API as production places it:
    by the citizen themselves, or (``by_client``) by a machine client for them."""
    headers = (h.client_headers(tenant=tenant) if by_client
               else h.citizen_headers(account, tenant=tenant))
    body: dict[str, Any] = {
        "lines": [{"ticket_type_id": str(demo.museum_adult),
                   "slot_id": str(demo.exhibition_slot), "quantity": quantity}],
        "email": email}
    if by_client:
        body["account_id"] = str(account)
    response = await h.client.post("/orders", json=body, headers={
        **headers, "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    await _paid(h, order)
    return uuid.UUID(order["order_id"])


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
    client_sold = await an_order(ticketing, demo, ticketing.ERIKA, by_client=True)
    maxs = await an_order(ticketing, demo, ticketing.MAX, by_client=True,
                          email="max@example.org")
    assert (await order_row(ticketing, erikas[0])).placed_by == f"citizen:{ticketing.ERIKA}"
    versions = {o: (await order_row(ticketing, o)).version for o in erikas}
    event = erased(ticketing.ERIKA)

    for _ in range(2):
        await deliver(ticketing, event)
        for order_id in erikas:
            row = await order_row(ticketing, order_id)
            assert (row.account_id, row.contact_email, row.erased) == (None, None, True)
            assert row.placed_by == ERASED_PLACED_BY
            # changed once, not twice
            assert (row.status, row.version) == ("confirmed", versions[order_id] + 1)
            assert set(await holders(ticketing, order_id)) == {None}
        client_row = await order_row(ticketing, client_sold)
        assert (client_row.account_id, client_row.contact_email, client_row.erased) == (
            None, None, True)
        assert client_row.placed_by == "client:city-erp"  # not the person's id
        assert not await ticketing.scalar(
            "SELECT count(*) FROM orders WHERE placed_by LIKE :id", id=f"%{ticketing.ERIKA}%")

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
    assert (kept.account_id, kept.placed_by, kept.erased) == (
        ticketing.ERIKA, f"citizen:{ticketing.ERIKA}", False)
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
