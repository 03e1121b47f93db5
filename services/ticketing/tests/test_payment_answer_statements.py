"""How many SQL statements the worker's handler of ``payment.created`` costs per event: counted,
not timed (see :mod:`.test_order_statements`). The consumer's inbox claim is not counted here
(the handler runs as :meth:`deliver_payment` runs it, in one transaction without the inbox)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from city_shared.testing import executed_statements
from ticketing_service.subscriptions import build_subscriptions

from .test_forged_payment_answers import place
from .test_order_statements import matches


async def test_a_payment_created_answer_costs_a_lock_and_an_update(ticketing: Any) -> None:
    demo = await ticketing.demo()
    order = await place(ticketing, demo.museum_adult, demo.exhibition_slot)
    warm = await place(ticketing, demo.museum_adult, demo.exhibition_slot)
    await ticketing.answer_payment("payment.created", warm)  # warm the caches

    with executed_statements() as first:
        await ticketing.answer_payment("payment.created", order)
    with executed_statements() as again:  # a redelivery: nothing to change
        await ticketing.answer_payment("payment.created", order)

    print("--- first", *first, "--- again", *again, sep="\n  ")
    # The same row lock every answer takes, then one UPDATE; no lines, no payment items.
    assert matches(first, ["FOR UPDATE", "UPDATE orders"]), first
    assert matches(again, ["FOR UPDATE"]), again
    answer = ticketing.payment_answer("payment.created", order)
    row = (await ticketing.rows(
        "SELECT payment_id::text, checkout_url, version FROM orders WHERE id = :id",
        id=order["order_id"]))[0]
    assert tuple(row) == (answer.data["payment_id"], answer.data["next_url"], 2)


async def test_the_payment_subscriptions_turn_down_other_services_payments_only(
    ticketing: Any,
) -> None:
    """The filter the consumer asks before any transaction (no inbox row, no statement):
    case's payments are turned down, ticketing's go on, and so does data that does not
    validate (the handler dead-letters it, as before)."""
    demo = await ticketing.demo()
    order = await place(ticketing, demo.museum_adult, demo.exhibition_slot)
    for sub in build_subscriptions(ticketing.settings):
        if sub.topic != "payment.payments":
            continue
        assert sub.accepts is not None, sub.event_type
        kind = sub.event_type.removeprefix("city.payment.").removesuffix(".v1")
        refund = {"refund_id": str(uuid.uuid4()), "refunded_amount": 1}
        ours = ticketing.payment_answer(kind, order, **refund)
        assert ours.type == sub.event_type
        assert sub.accepts(ours)
        assert not sub.accepts(ticketing.payment_answer(
            kind, order, source="case", reference=f"case/case/{uuid.uuid4()}", **refund))
        assert sub.accepts(ticketing.payment_answer(kind, order, source="case", amount="lots",
                                                    **refund))
        with pytest.raises(ValidationError):  # ... which the handler refuses
            await ticketing.deliver_payment(ticketing.payment_answer(
                kind, order, source="case", amount="lots", **refund))
