"""How many SQL statements a payment request (``city.payment.request.v1``) costs the worker:
counted, not timed, so a test fails the day someone brings back a read of what is known
already, a row-by-row insert of line items or an ORM flush of the payment's object graph,
whatever the machine's speed.

Counted are the statements the handler sends through SQLAlchemy inside the consumer's unit of
work (BEGIN and COMMIT are no statements here; the consumer's inbox claim is not the
handler's). The budgets are the counts of today's code, so a change that needs one more
statement says so here on purpose.
"""

from __future__ import annotations

from typing import Any

from city_shared.envelope import Event, new_event
from city_shared.testing import executed_statements
from city_shared.unit_of_work import unit_of_work
from payment_service.payments.handlers import PAYMENT_REQUEST, PaymentRequestData
from payment_service.subscriptions import build_subscriptions


def matches(sql: list[str], expected: list[str]) -> bool:
    return len(sql) == len(expected) and all(e in s for s, e in zip(sql, expected, strict=True))


def request(payments: Any, reference: str, *, items: int = 1) -> Event:
    """A ``city.payment.request.v1`` as ticketing sends it, with ``items`` line items."""
    lines = [payments.line_item(department=f"dept{i}", amount=100 + i) for i in range(items)]
    data = PaymentRequestData.model_validate({
        "request_id": "0b7f1c2e-5a4d-4e8b-9c1f-2d3e4f5a6b7c", "tenant": "musterstadt",
        "reference": reference, "amount": sum(i["amount"] for i in lines), "currency": "EUR",
        "description": "Tickets", "return_url": payments.RETURN_URL, "line_items": lines,
        "payer": {"account_id": str(payments.ERIKA)}, "metadata": {"order_id": "7f3c"},
    })
    return new_event(type=PAYMENT_REQUEST, source="/ticketing", subject=reference,
                     tenant="musterstadt", data=data)


async def handle(payments: Any, event: Event) -> list[str]:
    subscriptions = build_subscriptions(payments.settings, payments.app.state.providers)
    [subscription] = [s for s in subscriptions if s.event_type == PAYMENT_REQUEST]
    with executed_statements() as seen:
        async with unit_of_work(payments.sessions) as session:  # as the consumer does
            await subscription.handler(session, event)
    return seen


#: A new payment: its row and its line items (one statement for all), the provider's id and
#: pay page with the first history entry (one statement), the ``created`` event in the outbox.
CREATED = ["INSERT INTO payments", "INSERT INTO payment_line_items",
           "INSERT INTO payment_history", "INSERT INTO outbox"]
#: A request for a reference that has its payment: the insert finds it, then it is read with
#: its line items (to compare the terms); nothing is written.
REPEATED = ["INSERT INTO payments", "FROM payments", "FROM payment_line_items"]


async def test_a_payment_request_costs_four_statements_whatever_its_line_items(
        payments: Any) -> None:
    await handle(payments, request(payments, "ticketing/order/warm"))  # warm the caches
    one = await handle(payments, request(payments, "ticketing/order/one"))
    three = await handle(payments, request(payments, "ticketing/order/three", items=3))
    again = await handle(payments, request(payments, "ticketing/order/one"))

    print("--- one line item", *one, "--- three", *three, "--- repeated", *again, sep="\n  ")
    assert matches(one, CREATED), one
    assert matches(three, CREATED), three
    assert matches(again, REPEATED), again
    # What the statements wrote is what the ORM used to flush: the pay page, the history, the
    # line items of the department split, one payment and one event per reference.
    created = await payments.outbox("city.payment.payment.created.v1")
    assert len(created) == 3
    by_reference = {e.data["reference"]: e for e in created}
    three_id = by_reference["ticketing/order/three"].key
    row = await payments.row(three_id)
    assert row.provider_payment_id.startswith("sbx_")
    assert row.next_url == by_reference["ticketing/order/three"].data["next_url"]
    assert row.next_url.endswith(f"/sandbox/pay/{row.provider_payment_id}")
    assert (row.amount, row.status, row.version, row.refunded_amount) == (303, "created", 1, 0)
    assert await payments.history(three_id) == [("city.payment.payment.created.v1", "created",
                                                 None)]
    assert await payments.scalar(
        "SELECT data FROM payment_history WHERE payment_id = :id", id=three_id) == {
            "amount": 303, "currency": "EUR"}
    read = (await payments.get(three_id)).json()
    assert [(i["department"], i["amount"]) for i in read["line_items"]] == [
        ("dept0", 100), ("dept1", 101), ("dept2", 102)]
    assert read["provider_payment_id"] == row.provider_payment_id
    assert await payments.scalar("SELECT count(*) FROM payments") == 3
