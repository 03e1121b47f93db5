"""Hoarding and mail to strangers: one account holds at most ``max_tickets_per_account`` tickets
of one slot (free and paid, unpaid and confirmed) and at most ``max_open_orders_per_account``
unpaid orders of one offering, both set per offering by its managers; and a citizen's order
mail goes to the citizen's own account, never to an address typed into the order."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from city_shared.envelope import new_event
from city_shared.unit_of_work import unit_of_work
from ticketing_service.catalogue.models import TicketType
from ticketing_service.subscriptions import build_subscriptions


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")


async def free_type(h: Any, demo: Any) -> uuid.UUID:
    """A free museum ticket type outside any quota (e.g. an open day)."""
    async with h.sessions() as session, session.begin():
        ticket_type = TicketType(offering_id=demo.exhibition, code="open-day", name="Tag der "
                                 "offenen Tür", price=0, position=9)
        session.add(ticket_type)
        await session.flush()
        return ticket_type.id


async def order(h: Any, ticket_type: uuid.UUID, slot: uuid.UUID | None, quantity: int, *,
                headers: dict[str, str] | None = None, **extra: Any) -> Any:
    """POST an order; ``email`` as frontends send it unless ``email=None`` leaves it out."""
    line: dict[str, Any] = {"ticket_type_id": str(ticket_type), "quantity": quantity}
    if slot is not None:
        line["slot_id"] = str(slot)
    body = {"lines": [line], "email": "erika@example.org", **extra}
    if body["email"] is None:
        del body["email"]
    return await h.client.post("/orders", json=body, headers={
        **(headers or h.citizen_headers()), "Idempotency-Key": str(uuid.uuid4())})


async def free_places(h: Any, slot: uuid.UUID) -> int:
    left: int = await h.scalar("SELECT capacity - held - sold FROM slots WHERE id = :s", s=slot)
    return left


async def test_one_account_cannot_take_a_whole_slot_with_free_orders(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    free = await free_type(h, demo)

    first = await order(h, free, demo.exhibition_slot, 10)
    second = await order(h, free, demo.exhibition_slot, 10)

    assert first.status_code == 201, first.text
    assert first.json()["status"] == "confirmed"
    assert second.status_code == 409, second.text
    assert second.headers["content-type"] == "application/problem+json"
    problem = second.json()
    assert problem["code"] == "account_ticket_limit"
    assert (problem["max_tickets_per_account"], problem["held"]) == (10, 10)
    assert await free_places(h, demo.exhibition_slot) == 30
    # Someone else still gets tickets.
    others = await order(h, free, demo.exhibition_slot, 10,
                         headers=h.citizen_headers(h.MAX))
    assert others.status_code == 201, others.text


async def test_unpaid_and_paid_tickets_count_towards_the_slot_limit(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    assert (await order(h, demo.museum_adult, demo.exhibition_slot, 6)).status_code == 201

    over = await order(h, demo.museum_adult, demo.exhibition_slot, 5)
    assert (over.status_code, over.json()["code"]) == (409, "account_ticket_limit")
    assert (await order(h, demo.museum_adult, demo.exhibition_slot, 4)).status_code == 201
    # Another slot is another limit.
    later = await h.add_slot(demo.exhibition, starts_at=h.next_weekday_at(14, days_ahead=2))
    assert (await order(h, demo.museum_adult, later, 1)).status_code == 409  # open orders
    assert await free_places(h, later) == 40


async def test_at_most_two_unpaid_orders_per_offering_until_one_is_paid(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    placed = [await order(h, demo.ten_visit_type, None, 1) for _ in range(2)]
    assert [r.status_code for r in placed] == [201, 201]

    third = await order(h, demo.ten_visit_type, None, 1)
    assert third.status_code == 409, third.text
    assert (third.json()["code"], third.json()["max_open_orders_per_account"]) == (
        "too_many_open_orders", 2)

    await _pay(h, placed[0].json())
    assert (await order(h, demo.ten_visit_type, None, 1)).status_code == 201


async def test_managers_set_the_limits_per_offering(ticketing: Any) -> None:
    h = ticketing
    demo = await h.demo()
    free = await free_type(h, demo)
    read = await h.client.get(f"/offerings/{demo.exhibition}", headers=h.manager_headers())
    assert (read.json()["max_tickets_per_account"],
            read.json()["max_open_orders_per_account"]) == (10, 2)

    changed = await h.client.patch(f"/offerings/{demo.exhibition}", headers=h.manager_headers(),
                                   json={"max_tickets_per_account": 30,
                                         "max_open_orders_per_account": 5})
    assert changed.status_code == 200, changed.text

    statuses = [(await order(h, free, demo.exhibition_slot, 10)).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 409]
    refused = await h.client.patch(f"/offerings/{demo.exhibition}", headers=h.manager_headers(),
                                   json={"max_tickets_per_account": 0})
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")


async def test_concurrent_orders_of_one_account_cannot_pass_the_limit_together(
    ticketing: Any,
) -> None:
    h = ticketing
    demo = await h.demo()
    free = await free_type(h, demo)

    answers = await asyncio.gather(*(order(h, free, demo.exhibition_slot, 10)
                                     for _ in range(4)))

    assert Counter(r.status_code for r in answers) == {201: 1, 409: 3}
    assert await free_places(h, demo.exhibition_slot) == 30


async def test_a_citizens_order_mail_goes_to_their_account_not_to_a_typed_address(
    ticketing: Any,
) -> None:
    h = ticketing
    demo = await h.demo()

    placed = await order(h, demo.museum_child, demo.exhibition_slot, 1,
                         email="stranger@example.org")
    without = await order(h, demo.museum_child, demo.exhibition_slot, 1, email=None)

    assert placed.status_code == 201, placed.text
    assert without.status_code == 201, without.text
    assert placed.json()["email"] is None
    confirmed = await h.outbox("city.ticketing.order.confirmed.v1")
    assert [row.data["recipient"] for row in confirmed] == [
        {"account_id": str(h.ERIKA), "email": None, "locale": "de"}] * 2
    assert not await h.scalar("SELECT count(*) FROM orders WHERE contact_email IS NOT NULL")


async def test_a_city_system_ordering_for_a_citizen_still_names_the_address(
    ticketing: Any,
) -> None:
    h = ticketing
    demo = await h.demo()

    placed = await order(h, demo.museum_child, demo.exhibition_slot, 1,
                         headers=h.client_headers(), account_id=str(h.MAX),
                         email="max@example.org")

    assert placed.status_code == 201, placed.text
    [confirmed] = await h.outbox("city.ticketing.order.confirmed.v1")
    assert confirmed.data["recipient"]["email"] == "max@example.org"


async def _pay(h: Any, placed: dict[str, Any]) -> None:
    pid = str(uuid.uuid5(uuid.UUID(placed["order_id"]), "payment"))
    handlers = {s.event_type: s.handler for s in build_subscriptions(h.settings)}
    for kind in ("created", "succeeded"):
        event = new_event(
            type=f"city.payment.payment.{kind}.v1", source="/payment", subject=pid,
            tenant=h.TENANT, data=_Data(
                payment_id=pid, tenant=h.TENANT, source="ticketing",
                reference=placed["reference"], amount=placed["total"], currency="EUR",
                reason=None, next_url="http://payment.test/pay",
                expires_at=datetime.now(UTC).isoformat()))
        async with unit_of_work(h.sessions) as session:
            await handlers[event.type](session, event)
