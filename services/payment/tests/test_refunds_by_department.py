"""Hole 3 of issue 11: a department's cashier pays back only that department's line items
(the ledger reverses those only); the whole of a payment of several departments is for a
tenant admin or a client with ``payment:refund``. The refund event says which line items,
departments and amounts were paid back and who asked, so the owning service can void them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text

from payment_service.ledger.service import ledger_balances

MUSEUM_CASHIER = {"museum": ["cashier"]}


async def paid_payment(payments: Any) -> str:
    """A paid payment: museum 800 (position 0) + pools 500 (position 1)."""
    created = await payments.create(payments.body())
    done = await payments.send_webhook(payments.notification(
        "payment.succeeded", created["provider_payment_id"], amount=1300))
    assert done.json() == {"status": "processed"}, done.text
    return str(created["payment_id"])


async def refund(payments: Any, payment_id: str, body: dict[str, Any],
                 headers: dict[str, str]) -> httpx.Response:
    response: httpx.Response = await payments.client.post(
        f"/payments/{payment_id}/refunds", json={"reason": "Besuch ausgefallen", **body},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    return response


async def revenue_debits(payments: Any, payment_id: str) -> dict[str, int]:
    async with payments.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT department, sum(debit) FROM ledger_entries WHERE payment_id = :p"
            " AND refund_id IS NOT NULL AND account LIKE 'revenue:%' GROUP BY department"),
            {"p": uuid.UUID(payment_id)})).all()
    return {department: int(total) for department, total in rows}


async def test_a_museum_cashier_may_not_refund_the_pools_part(payments: Any) -> None:
    pid = await paid_payment(payments)
    cashier = payments.staff_headers(MUSEUM_CASHIER)

    for body in ({"amount": 1300}, {"amount": 500, "line_items": [1]},
                 {"amount": 900, "line_items": [0, 1]}):
        response = await refund(payments, pid, body, cashier)
        assert response.status_code == 403, (body, response.text)
        assert response.json()["code"] == "refund_outside_department"
        assert response.json()["departments"] == ["pools"]
    assert (await payments.row(pid)).refunded_amount == 0
    assert await revenue_debits(payments, pid) == {}


async def test_a_museum_cashier_refunds_the_museum_line_and_only_museum_revenue(
    payments: Any,
) -> None:
    pid = await paid_payment(payments)
    cashier = payments.staff_headers(MUSEUM_CASHIER)

    too_much = await refund(payments, pid, {"amount": 801, "line_items": [0]}, cashier)
    assert too_much.status_code == 409
    assert too_much.json()["available"] == 800
    done = await refund(payments, pid, {"amount": 800, "line_items": [0]}, cashier)

    assert done.status_code == 201, done.text
    assert done.json()["status"] == "succeeded"
    assert done.json()["line_items"] == [0]
    assert await revenue_debits(payments, pid) == {"museum": 800}
    [event] = await payments.outbox("city.payment.refund.succeeded.v1")
    assert event.data["requested_by"] == "staff"
    assert event.data["departments"] == ["museum"]
    assert [(i["position"], i["department"], i["amount"]) for i in event.data["line_items"]] == [
        (0, "museum", 800)]
    async with payments.sessions() as session:
        assert await ledger_balances(session, payments.TENANT)
    # The museum's part is spent: nothing more for the museum, the pools' part untouched.
    again = await refund(payments, pid, {"amount": 1, "line_items": [0]}, cashier)
    assert again.status_code == 409
    pools = await refund(payments, pid, {"amount": 500, "line_items": [1]},
                         payments.staff_headers({"pools": ["manager"]}))
    assert pools.status_code == 201, pools.text
    assert await revenue_debits(payments, pid) == {"museum": 800, "pools": 500}


async def test_a_tenant_admin_and_a_refund_client_refund_across_departments(
    payments: Any,
) -> None:
    for headers in (payments.staff_headers(admin="tenant"),
                    payments.client_headers("payment:refund", client_id="city-erp")):
        pid = await paid_payment(payments)
        response = await refund(payments, pid, {"amount": 1300}, headers)
        assert response.status_code == 201, response.text
        assert await revenue_debits(payments, pid) == {"museum": 800, "pools": 500}


async def test_a_position_the_payment_lacks_is_refused(payments: Any) -> None:
    pid = await paid_payment(payments)
    response = await refund(payments, pid, {"amount": 100, "line_items": [5]},
                            payments.staff_headers(admin="tenant"))
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_line_item"
