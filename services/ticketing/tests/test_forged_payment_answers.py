"""Forged or mismatched payment answers: every answer of the saga is checked against what
ticketing asked for (the payment id once payment named it, the reference, the amount and the
currency). One that does not match changes nothing and is dead-lettered
(:class:`PermanentFailure`), so an operator sees it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from city_shared.consumer import PermanentFailure


def _payment_id(order: dict[str, Any]) -> str:
    return str(uuid.uuid5(uuid.UUID(order["order_id"]), "payment"))


async def place(t: Any, ticket_type: uuid.UUID, slot: uuid.UUID | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"ticket_type_id": str(ticket_type), "quantity": 1}
    if slot is not None:
        line["slot_id"] = str(slot)
    response = await t.client.post("/orders", json={"lines": [line], "email": "e@x.org"}, headers={
        **t.citizen_headers(), "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def state(t: Any, order: dict[str, Any]) -> tuple[str, str | None, int]:
    response = await t.client.get(f"/orders/{order['order_id']}", headers=t.citizen_headers())
    body = response.json()
    return body["status"], body["payment_id"], len(body["tickets"])


async def refund_commands(t: Any) -> int:
    return len(await t.outbox("city.payment.refund.request.v1"))


async def test_a_success_of_another_payment_confirms_nothing(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, demo.museum_adult, demo.exhibition_slot)
    await ticketing.answer_payment("payment.created", order)

    forged = ticketing.payment_answer("payment.succeeded", order, payment_id=str(uuid.uuid4()))
    with pytest.raises(PermanentFailure):
        await ticketing.deliver_payment(forged)

    assert await state(ticketing, order) == ("awaiting_payment", _payment_id(order), 0)
    # The real one still confirms.
    await ticketing.answer_payment("payment.succeeded", order)
    assert await state(ticketing, order) == ("confirmed", _payment_id(order), 1)


async def test_a_success_in_another_currency_confirms_nothing(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, demo.museum_adult, demo.exhibition_slot)

    with pytest.raises(PermanentFailure):
        await ticketing.answer_payment("payment.succeeded", order, currency="HUF")

    assert await state(ticketing, order) == ("awaiting_payment", None, 0)


async def test_a_created_payment_that_is_not_the_one_asked_for_is_not_remembered(
    ticketing: Any,
) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, demo.museum_adult, demo.exhibition_slot)

    with pytest.raises(PermanentFailure):
        await ticketing.answer_payment("payment.created", order, amount=1)
    assert await state(ticketing, order) == ("awaiting_payment", None, 0)

    await ticketing.answer_payment("payment.created", order)
    with pytest.raises(PermanentFailure):
        await ticketing.answer_payment("payment.created", order, payment_id=str(uuid.uuid4()))
    assert await state(ticketing, order) == ("awaiting_payment", _payment_id(order), 0)


async def test_a_forged_failure_does_not_cancel_the_order(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, demo.museum_adult, demo.exhibition_slot)
    await ticketing.answer_payment("payment.created", order)

    with pytest.raises(PermanentFailure):
        await ticketing.answer_payment("payment.failed", order, payment_id=str(uuid.uuid4()))

    assert (await state(ticketing, order))[0] == "awaiting_payment"
    assert await ticketing.scalar(
        "SELECT held FROM slots WHERE id = :s", s=demo.exhibition_slot) == 1


async def test_a_forged_late_success_asks_for_no_refund(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, demo.museum_adult, demo.exhibition_slot)
    await ticketing.answer_payment("payment.created", order)
    await ticketing.answer_payment("payment.expired", order)

    with pytest.raises(PermanentFailure):
        await ticketing.answer_payment("payment.succeeded", order, amount=10_000_000)
    with pytest.raises(PermanentFailure):
        await ticketing.answer_payment("payment.succeeded", order,
                                        payment_id=str(uuid.uuid4()))

    assert await refund_commands(ticketing) == 0


async def test_a_payment_answer_for_a_free_order_is_forged(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, demo.museum_child, demo.exhibition_slot)
    assert order["status"] == "confirmed"

    with pytest.raises(PermanentFailure):
        await ticketing.answer_payment("payment.succeeded", order, amount=0)

    assert await refund_commands(ticketing) == 0


async def test_a_refund_of_another_payment_does_not_end_a_cancellation(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, demo.ten_visit_type)
    await ticketing.answer_payment("payment.created", order)
    await ticketing.answer_payment("payment.succeeded", order)
    cancelled = await ticketing.client.post(f"/orders/{order['order_id']}/cancel", headers={
        **ticketing.citizen_headers(), "Idempotency-Key": str(uuid.uuid4())})
    assert cancelled.status_code == 202, cancelled.text

    with pytest.raises(PermanentFailure):
        await ticketing.answer_payment(
            "refund.succeeded", order, payment_id=str(uuid.uuid4()),
            refund_id=str(uuid.uuid4()), refunded_amount=order["total"])

    assert await state(ticketing, order) == ("cancellation_requested", _payment_id(order), 1)
