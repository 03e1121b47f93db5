"""Refunds as a cashier or a client uses them: partial and full refunds of a paid payment,
the guard on what is still refundable, ``If-Match``, the events, who may refund what, bad
input, and the automatic refund of money captured after a payment had closed."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from payment_service.ledger.service import ledger_balances
from payment_service.refunds.jobs import submit_open_refunds

#: A cashier of both departments of the default basket (museum + pools).
CASHIER = {"museum": ["cashier"], "pools": ["cashier"]}


async def paid_payment(payments: Any, lines: list[tuple[str, int]] | None = None) -> dict[str, Any]:
    """A payment the sandbox confirmed (by its signed webhook); its current representation."""
    lines = lines or [("museum", 800), ("pools", 500)]
    body = payments.body(amount=sum(a for _, a in lines),
                         line_items=[payments.line_item(d, a) for d, a in lines])
    created = await payments.create(body)
    done = await payments.send_webhook(payments.notification(
        "payment.succeeded", created["provider_payment_id"], amount=body["amount"]))
    assert done.json() == {"status": "processed"}, done.text
    response = await payments.get(created["payment_id"])
    assert response.json()["state"]["status"] == "succeeded"
    result: dict[str, Any] = response.json()
    result["etag"] = response.headers["etag"]
    return result


async def refund(
    payments: Any, payment_id: str, amount: Any, *, headers: dict[str, str] | None = None,
    key: str | None = None, if_match: str | None = None, reason: str = "Besuch ausgefallen",
) -> httpx.Response:
    sent = {**(headers or payments.staff_headers(CASHIER)),
            "Idempotency-Key": key or str(uuid.uuid4())}
    if if_match is not None:
        sent["If-Match"] = if_match
    response: httpx.Response = await payments.client.post(
        f"/payments/{payment_id}/refunds", json={"amount": amount, "reason": reason},
        headers=sent)
    return response


async def balanced(payments: Any) -> bool:
    async with payments.sessions() as session:
        return await ledger_balances(session, payments.TENANT)


async def test_a_partial_then_a_full_refund_pay_back_exactly_the_payment(payments: Any) -> None:
    paid = await paid_payment(payments)
    pid = paid["payment_id"]

    first = await refund(payments, pid, 300)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "succeeded"
    assert body["amount"] == 300
    assert body["currency"] == "EUR"
    assert body["reason"] == "Besuch ausgefallen"
    assert body["provider_refund_id"].startswith("sbx_")
    assert first.headers["location"] == (
        f"{payments.BASE_URL}/payments/{pid}/refunds/{body['refund_id']}")
    assert first.headers["etag"] != paid["etag"]  # the payment changed

    rest = await refund(payments, pid, 1000)
    assert rest.status_code == 201, rest.text
    over = await refund(payments, pid, 1)
    assert over.status_code == 409
    assert over.json()["code"] == "refund_exceeds_available"
    assert over.json()["available"] == 0

    assert (await payments.row(pid)).refunded_amount == 1300
    listed = await payments.client.get(f"/payments/{pid}/refunds",
                                       headers=payments.client_headers())
    assert listed.status_code == 200
    figures = listed.json()
    assert [r["amount"] for r in figures["items"]] == [300, 1000]
    assert (figures["refunded_amount"], figures["pending_amount"],
            figures["refundable_amount"]) == (1300, 0, 0)
    one = await payments.client.get(f"/payments/{pid}/refunds/{body['refund_id']}",
                                    headers=payments.client_headers())
    assert one.json()["refund_id"] == body["refund_id"]
    assert await balanced(payments)


async def test_a_refund_over_what_is_left_is_refused_and_changes_nothing(payments: Any) -> None:
    pid = (await paid_payment(payments))["payment_id"]
    assert (await refund(payments, pid, 1000)).status_code == 201

    refused = await refund(payments, pid, 301)

    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "refund_exceeds_available"
    assert refused.json()["available"] == 300
    assert await payments.scalar("SELECT count(*) FROM refunds") == 1
    assert (await payments.row(pid)).refunded_amount == 1000


async def test_refund_events_carry_the_refund_and_the_requesters_reference(
    payments: Any,
) -> None:
    paid = await paid_payment(payments, [("museum", 800)])
    pid = paid["payment_id"]
    made = (await refund(payments, pid, 250)).json()

    [event] = await payments.outbox("city.payment.refund.succeeded.v1")
    assert event.topic == "payment.payments"
    assert event.key == pid
    assert event.attributes["subject"] == pid
    assert event.attributes["department"] == "museum"
    assert event.data == {
        "refund_id": made["refund_id"], "payment_id": pid, "tenant": payments.TENANT,
        "source": "ticketing", "reference": paid["reference"], "amount": 250,
        "currency": "EUR", "reason": "Besuch ausgefallen", "refunded_amount": 250,
        "requested_by": "staff", "departments": ["museum"],
        "line_items": [{"position": 0, "department": "museum", "cost_centre": "MUS-4100",
                        "amount": 250}],
    }
    history = await payments.history(pid)
    assert history[-1] == ("city.payment.refund.succeeded.v1", "succeeded", None)


async def test_a_provider_refusal_fails_the_refund_and_frees_the_amount(
    payments: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from payment_service.providers.base import ProviderRefund

    pid = (await paid_payment(payments))["payment_id"]

    async def refuse(payment: Any, amount: int, *, idempotency_key: str | None = None) -> Any:
        return ProviderRefund(f"sbx_refused_{idempotency_key}", "failed")

    monkeypatch.setattr(payments.sandbox, "refund", refuse)
    failed = await refund(payments, pid, 1300)
    assert failed.status_code == 201
    assert failed.json()["status"] == "failed"
    [event] = await payments.outbox("city.payment.refund.failed.v1")
    assert event.data["refund_id"] == failed.json()["refund_id"]
    assert (await payments.row(pid)).refunded_amount == 0

    monkeypatch.undo()
    again = await refund(payments, pid, 1300)
    assert again.json()["status"] == "succeeded"
    assert await balanced(payments)


async def test_a_provider_outage_keeps_the_refund_submitted_until_the_job_retries(
    payments: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = (await paid_payment(payments))["payment_id"]
    calls: list[str | None] = []
    original = payments.sandbox.refund

    async def down(payment: Any, amount: int, *, idempotency_key: str | None = None) -> Any:
        calls.append(idempotency_key)
        raise ConnectionError("provider unreachable")

    monkeypatch.setattr(payments.sandbox, "refund", down)
    pending = await refund(payments, pid, 500)
    assert pending.status_code == 201
    assert pending.json()["status"] == "submitted"
    # What a submitted refund holds is not refundable twice.
    assert (await refund(payments, pid, 801)).json()["available"] == 800

    monkeypatch.setattr(payments.sandbox, "refund", original)
    assert await submit_open_refunds(payments.sessions, payments.app.state.providers) == 1
    assert await submit_open_refunds(payments.sessions, payments.app.state.providers) == 0
    done = await payments.client.get(
        f"/payments/{pid}/refunds/{pending.json()['refund_id']}",
        headers=payments.client_headers())
    assert done.json()["status"] == "succeeded"
    assert calls == [pending.json()["refund_id"]]  # the provider's idempotency key
    assert (await payments.row(pid)).refunded_amount == 500
    assert await balanced(payments)


async def test_a_stale_if_match_fails_with_412_and_a_current_one_passes(payments: Any) -> None:
    paid = await paid_payment(payments)
    pid = paid["payment_id"]
    stale = paid["etag"]
    assert (await refund(payments, pid, 100, if_match=stale)).status_code == 201

    refused = await refund(payments, pid, 100, if_match=stale)
    assert refused.status_code == 412
    assert refused.json()["code"] == "precondition_failed"
    for bad in ('W/' + stale, "garbage", '"999"'):
        assert (await refund(payments, pid, 100, if_match=bad)).status_code == 412

    current = (await payments.get(pid)).headers["etag"]
    assert (await refund(payments, pid, 100, if_match=f'"0", {current}')).status_code == 201
    assert (await refund(payments, pid, 100, if_match="*")).status_code == 201
    assert await payments.scalar("SELECT count(*) FROM refunds") == 3


async def test_the_same_idempotency_key_replays_the_refund_instead_of_paying_twice(
    payments: Any,
) -> None:
    pid = (await paid_payment(payments))["payment_id"]
    headers = payments.staff_headers(CASHIER, sub="cashier-1")

    first = await refund(payments, pid, 400, headers=headers, key="refund-1")
    second = await refund(payments, pid, 400, headers=headers, key="refund-1")
    other = await refund(payments, pid, 401, headers=headers, key="refund-1")
    missing = await payments.client.post(f"/payments/{pid}/refunds",
                                         json={"amount": 1, "reason": "x"}, headers=headers)

    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert other.status_code == 422
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_required"
    assert await payments.scalar("SELECT count(*) FROM refunds") == 1


async def test_a_retry_under_the_same_key_after_its_answer_expired_is_the_same_refund(
    payments: Any,
) -> None:
    """The refund's id follows from (payment, caller, Idempotency-Key), and the provider takes
    that id as its own idempotency key: a retry whose first attempt died after the provider
    had paid (nothing committed) pays nothing twice, and one whose stored answer expired gets
    the refund it made."""
    paid = await paid_payment(payments)
    pid = paid["payment_id"]
    cashier = payments.staff_headers(CASHIER)
    first = await refund(payments, pid, 300, key="refund-once", headers=cashier)
    assert first.status_code == 201, first.text
    async with payments.engine.begin() as conn:
        await conn.execute(text("UPDATE idempotency_keys SET expires_at = now()"))

    again = await refund(payments, pid, 300, key="refund-once", headers=cashier)

    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in again.headers
    assert again.json()["refund_id"] == first.json()["refund_id"]
    assert again.json()["provider_refund_id"] == first.json()["provider_refund_id"]
    assert (await payments.row(pid)).refunded_amount == 300
    other_key = await refund(payments, pid, 300, key="refund-twice", headers=cashier)
    assert other_key.json()["refund_id"] != first.json()["refund_id"]
    assert (await payments.row(pid)).refunded_amount == 600


async def test_only_paid_payments_can_be_refunded(payments: Any) -> None:
    created = await payments.create()
    refused = await refund(payments, created["payment_id"], 100)
    assert refused.status_code == 409
    assert refused.json()["code"] == "payment_not_refundable"


async def test_who_may_refund(payments: Any) -> None:
    museum_only = (await paid_payment(payments, [("museum", 800)]))["payment_id"]
    basket = (await paid_payment(payments))["payment_id"]

    def staff(roles: dict[str, list[str]], **kw: Any) -> dict[str, str]:
        headers: dict[str, str] = payments.staff_headers(roles, **kw)
        return headers

    cases = [
        (staff({"pools": ["cashier", "manager"]}), museum_only, 404),
        (staff({"museum": ["gatekeeper"]}), museum_only, 403),
        (staff({"museum": ["cashier"]}, tenant=payments.OTHER_TENANT), museum_only, 404),
        (payments.citizen_headers(), museum_only, 403),
        (payments.client_headers("payment:read payment:write"), museum_only, 403),
        (payments.client_headers("payment:refund", tenant=payments.OTHER_TENANT),
         museum_only, 404),
        # Another department's money: the pools' cashier may not pay back the museum's part.
        (staff({"pools": ["cashier"]}), basket, 403),
    ]
    for headers, pid, expected in cases:
        response = await refund(payments, pid, 100, headers=headers)
        assert response.status_code == expected, (expected, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await payments.scalar("SELECT count(*) FROM refunds") == 0

    allowed = [
        (staff({"museum": ["cashier"]}), museum_only),
        (staff({"museum": ["manager"]}), museum_only),
        (staff({}, admin="tenant"), basket),
        (payments.client_headers("payment:refund", client_id="city-erp"), basket),
    ]
    for headers, pid in allowed:
        assert (await refund(payments, pid, 100, headers=headers)).status_code == 201
    # Its own line item of the basket (position 1): a department on the payment.
    own = await payments.client.post(
        f"/payments/{basket}/refunds", json={"amount": 100, "reason": "x", "line_items": [1]},
        headers={**staff({"pools": ["cashier"]}), "Idempotency-Key": str(uuid.uuid4())})
    assert own.status_code == 201, own.text


async def test_who_may_read_refunds(payments: Any) -> None:
    pid = (await paid_payment(payments, [("museum", 800)]))["payment_id"]
    made = (await refund(payments, pid, 100)).json()
    path = f"/payments/{pid}/refunds/{made['refund_id']}"

    readers = [payments.citizen_headers(), payments.staff_headers({"museum": ["gatekeeper"]}),
               payments.client_headers("payment:refund", client_id="city-erp"),
               payments.client_headers("payment:read", client_id="city-erp")]
    for headers in readers:
        assert (await payments.client.get(path, headers=headers)).status_code == 200
    hidden = [payments.citizen_headers(payments.MAX),
              payments.staff_headers({"pools": ["manager"]}),
              payments.client_headers("payment:read", tenant=payments.OTHER_TENANT)]
    for headers in hidden:
        for url in (path, f"/payments/{pid}/refunds"):
            assert (await payments.client.get(url, headers=headers)).status_code == 404
    other = f"/payments/{pid}/refunds/{uuid.uuid4()}"
    missing = await payments.client.get(other, headers=payments.client_headers())
    assert missing.json()["code"] == "refund_not_found"
    assert (await payments.client.get(path)).status_code == 401


@pytest.mark.parametrize("body", [
    {"amount": 0, "reason": "x"},
    {"amount": -5, "reason": "x"},
    {"amount": "100", "reason": "x"},
    {"amount": 1.5, "reason": "x"},
    {"amount": True, "reason": "x"},
    {"amount": 10**20, "reason": "x"},
    {"amount": 100},
    {"amount": 100, "reason": ""},
    {"amount": 100, "reason": "x" * 256},
    {"amount": 100, "reason": "a\x00b"},
    {"amount": 100, "reason": "x", "status": "succeeded"},
    [],
    "refund",
])
async def test_bad_bodies_are_422_and_refund_nothing(payments: Any, body: Any) -> None:
    pid = (await paid_payment(payments))["payment_id"]
    response = await payments.client.post(
        f"/payments/{pid}/refunds", json=body,
        headers={**payments.staff_headers(CASHIER), "Idempotency-Key": "k"})
    assert response.status_code == 422, response.text
    assert await payments.scalar("SELECT count(*) FROM refunds") == 0


async def test_bad_ids_and_headers_never_500(payments: Any) -> None:
    pid = (await paid_payment(payments))["payment_id"]
    headers = payments.staff_headers(CASHIER)
    for url in ("/payments/not-a-uuid/refunds", f"/payments/{pid}/refunds/42",
                f"/payments/{uuid.uuid4()}/refunds"):
        response = await payments.client.get(url, headers=headers)
        assert response.status_code in (404, 422), response.text
    odd = await refund(payments, pid, 100, if_match="x" * 2000)
    assert odd.status_code == 422
    raw = await payments.client.post(
        f"/payments/{pid}/refunds", content=b"{not json",
        headers={**headers, "Idempotency-Key": "k2", "Content-Type": "application/json"})
    assert raw.status_code == 422


async def test_money_captured_after_the_payment_closed_is_refunded_and_booked(
    payments: Any,
) -> None:
    created = await payments.create(payments.body())
    pid = created["payment_id"]
    cancelled = await payments.client.post(
        f"/payments/{pid}/cancel", headers={**payments.client_headers(),
                                            "Idempotency-Key": str(uuid.uuid4())})
    assert cancelled.status_code == 200
    late = await payments.send_webhook(payments.notification(
        "payment.succeeded", created["provider_payment_id"], amount=1300))
    assert late.json() == {"status": "late_success"}

    listed = (await payments.client.get(f"/payments/{pid}/refunds",
                                        headers=payments.client_headers())).json()
    assert [(r["amount"], r["status"]) for r in listed["items"]] == [(1300, "submitted")]
    assert await submit_open_refunds(payments.sessions, payments.app.state.providers) == 1

    row = await payments.row(pid)
    assert (row.status, row.refunded_amount) == ("cancelled", 1300)
    assert len(await payments.outbox("city.payment.refund.succeeded.v1")) == 1
    # The capture and its refund are both in the ledger, so the provider's settlement (which
    # has both) reconciles; the departments' net is zero.
    async with payments.engine.connect() as conn:
        from sqlalchemy import text
        net = (await conn.execute(text(
            "SELECT department, sum(credit) - sum(debit) FROM ledger_entries "
            "WHERE account LIKE 'revenue:%' GROUP BY department ORDER BY 1"))).all()
    assert [tuple(r) for r in net] == [("museum", 0), ("pools", 0)]
    assert await balanced(payments)
