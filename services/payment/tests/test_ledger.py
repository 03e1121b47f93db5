"""The revenue ledger: every capture and refund is booked double-entry per line item into the
departments' own revenue accounts, once, always balanced (the database refuses anything else),
and readable per department by those allowed to."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from payment_service.ledger.allocation import split_proportionally
from payment_service.ledger.service import (
    book_payment,
    ledger_balances,
    ledger_violations,
    value_date,
)
from payment_service.payments.models import Payment

# --- the split (no I/O) ------------------------------------------------------------------------

def test_split_adds_up_and_never_exceeds_a_weight() -> None:
    rng = random.Random(4711)
    for _ in range(5000):
        weights = [rng.choice([0, 1, 2, 3, 7, 333, 334, 1000, rng.randint(0, 10**6)])
                   for _ in range(rng.randint(1, 6))]
        if sum(weights) == 0:
            continue
        total = rng.randint(0, sum(weights))
        shares = split_proportionally(total, weights)
        assert sum(shares) == total
        assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))
        assert all(s == 0 for s, w in zip(shares, weights, strict=True) if w == 0)


def test_split_examples() -> None:
    assert split_proportionally(1001, [334, 333, 334]) == [334, 333, 334]
    assert split_proportionally(100, [334, 333, 334]) == [34, 33, 33]
    assert split_proportionally(1, [1, 1000]) == [0, 1]
    assert split_proportionally(0, [0, 0]) == [0, 0]
    with pytest.raises(ValueError, match="positive weight"):
        split_proportionally(1, [0, 0])
    with pytest.raises(ValueError, match="negative"):
        split_proportionally(-1, [1])


# --- bookings ----------------------------------------------------------------------------------

async def _paid(payments: Any, lines: list[tuple[str, int]]) -> str:
    body = payments.body(amount=sum(a for _, a in lines),
                         line_items=[payments.line_item(d, a) for d, a in lines])
    created = await payments.create(body)
    done = await payments.send_webhook(payments.notification(
        "payment.succeeded", created["provider_payment_id"], amount=body["amount"]))
    assert done.json() == {"status": "processed"}
    pid: str = created["payment_id"]
    return pid


async def _refund(payments: Any, pid: str, amount: int) -> httpx.Response:
    response: httpx.Response = await payments.client.post(
        f"/payments/{pid}/refunds", json={"amount": amount, "reason": "test"},
        headers={**payments.client_headers("payment:refund", client_id="city-erp"),
                 "Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "succeeded"
    return response


async def _entries(payments: Any, pid: str) -> list[Any]:
    async with payments.engine.connect() as conn:
        return list((await conn.execute(text(
            "SELECT booking_id, account, department, cost_centre, debit, credit, refund_id, "
            "line_position, value_date FROM ledger_entries WHERE payment_id = :p ORDER BY id"),
            {"p": pid})).all())


async def _sound(payments: Any) -> bool:
    async with payments.sessions() as session:
        return await ledger_balances(session, payments.TENANT)


async def test_a_mixed_basket_credits_each_department_its_own_line_items(payments: Any) -> None:
    pid = await _paid(payments, [("museum", 800), ("pools", 450), ("pools", 50)])

    entries = await _entries(payments, pid)

    assert len({e.booking_id for e in entries}) == 1
    assert [(e.account, e.department, e.debit, e.credit, e.line_position) for e in entries] == [
        ("clearing:sandbox", "museum", 800, 0, 0),
        ("revenue:museum:MUS-4100", "museum", 0, 800, 0),
        ("clearing:sandbox", "pools", 450, 0, 1),
        ("revenue:pools:BAD-5700", "pools", 0, 450, 1),
        ("clearing:sandbox", "pools", 50, 0, 2),
        ("revenue:pools:BAD-5700", "pools", 0, 50, 2),
    ]
    assert sum(e.debit for e in entries) == sum(e.credit for e in entries) == 1300
    assert {e.value_date for e in entries} == {value_date(datetime.now(UTC))}
    assert await _sound(payments)


async def test_free_line_items_book_nothing_and_a_second_success_books_nothing_more(
    payments: Any,
) -> None:
    pid = await _paid(payments, [("museum", 800), ("museum", 0)])
    again = await payments.send_webhook(payments.notification(
        "payment.succeeded", (await payments.row(pid)).provider_payment_id, amount=800))
    assert again.json() == {"status": "no_change"}

    entries = await _entries(payments, pid)
    assert [(e.account, e.debit, e.credit) for e in entries] == [
        ("clearing:sandbox", 800, 0), ("revenue:museum:MUS-4100", 0, 800)]


async def test_booking_the_same_payment_twice_concurrently_books_it_once(payments: Any) -> None:
    pid = await _paid(payments, [("museum", 800), ("pools", 500)])
    async with payments.engine.begin() as conn:
        # Start from an unbooked success (as if the hook had not run yet): a fresh copy.
        await conn.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER "
                                "ledger_entries_append_only"))
        await conn.execute(text("DELETE FROM ledger_entries"))
        await conn.execute(text("ALTER TABLE ledger_entries ENABLE TRIGGER "
                                "ledger_entries_append_only"))

    async def book() -> uuid.UUID | None:
        async with payments.sessions() as session:
            payment = (await session.execute(
                select(Payment).where(Payment.id == uuid.UUID(pid)))).scalar_one()
            booked = await book_payment(session, payment)
            await asyncio.sleep(0.05)  # both transactions open at once
            await session.commit()
            return booked

    results = await asyncio.gather(*(book() for _ in range(5)))

    assert sum(r is not None for r in results) == 1
    assert len(await _entries(payments, pid)) == 4
    assert await _sound(payments)


async def test_partial_refunds_of_awkward_amounts_always_balance_and_add_up(
    payments: Any,
) -> None:
    lines = [("museum", 334), ("pools", 333), ("museum", 334)]
    pid = await _paid(payments, lines)
    refunded = 0
    for amount in (100, 1, 333, 7, 1, 559):
        made = (await _refund(payments, pid, amount)).json()
        refunded += amount
        entries = await _entries(payments, pid)
        booking = [e for e in entries if str(e.refund_id) == made["refund_id"]]
        assert sum(e.debit for e in booking) == sum(e.credit for e in booking) == amount
        assert sum(e.debit for e in booking if e.account.startswith("revenue:")) == amount
        for position, (_, line_amount) in enumerate(lines):
            paid_back = sum(e.debit for e in entries if e.line_position == position
                            and e.refund_id is not None and e.account.startswith("revenue:"))
            assert paid_back <= line_amount
        assert await _sound(payments)
    assert refunded == 1001
    entries = await _entries(payments, pid)
    for position in range(len(lines)):
        revenue = [e for e in entries
                   if e.line_position == position and e.account.startswith("revenue:")]
        assert sum(e.credit for e in revenue) == sum(e.debit for e in revenue)  # all paid back
    departments = {(e.department, e.account) for e in entries if e.account.startswith("rev")}
    assert departments == {("museum", "revenue:museum:MUS-4100"),
                           ("pools", "revenue:pools:BAD-5700")}


async def test_the_first_partial_refund_is_split_in_proportion(payments: Any) -> None:
    pid = await _paid(payments, [("museum", 800), ("pools", 500)])
    made = (await _refund(payments, pid, 300)).json()

    booking = [e for e in await _entries(payments, pid) if str(e.refund_id) == made["refund_id"]]

    # 300 * 800/1300 = 184.6, 300 * 500/1300 = 115.4: the larger remainder gets the cent.
    assert [(e.account, e.debit, e.credit) for e in booking] == [
        ("revenue:museum:MUS-4100", 185, 0), ("clearing:sandbox", 0, 185),
        ("revenue:pools:BAD-5700", 115, 0), ("clearing:sandbox", 0, 115),
    ]


async def test_the_database_refuses_unbalanced_or_changed_bookings(payments: Any) -> None:
    pid = await _paid(payments, [("museum", 800)])
    row = (await _entries(payments, pid))[0]

    with pytest.raises(DBAPIError, match="does not balance"):
        async with payments.engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO ledger_entries (tenant, booking_id, account, department, debit, "
                "credit, currency, payment_id, line_position, value_date) VALUES "
                "(:t, :b, 'clearing:sandbox', 'museum', 1, 0, 'EUR', :p, 9, current_date)"),
                {"t": payments.TENANT, "b": uuid.uuid4(), "p": pid})
    for statement in ("UPDATE ledger_entries SET debit = debit + 1 WHERE id = (SELECT min(id) "
                      "FROM ledger_entries)", "DELETE FROM ledger_entries"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with payments.engine.begin() as conn:
                await conn.execute(text(statement))
    assert len(await _entries(payments, pid)) == 2
    assert row.debit == 800


async def test_the_invariant_checker_finds_a_broken_ledger(payments: Any) -> None:
    pid = await _paid(payments, [("museum", 800), ("pools", 500)])
    assert await _sound(payments)
    # Negative control: a payment whose refunded_amount the ledger does not show.
    async with payments.engine.begin() as conn:
        await conn.execute(text("UPDATE payments SET refunded_amount = 5 WHERE id = :p"),
                           {"p": pid})
    async with payments.sessions() as session:
        found = await ledger_violations(session, payments.TENANT)
        assert not await ledger_balances(session, payments.TENANT)
    assert found == [("refunds_differ_from_payment", pid, -5)]


# --- GET /ledger/balances ----------------------------------------------------------------------

async def test_balances_per_department_for_those_allowed(payments: Any) -> None:
    pid = await _paid(payments, [("museum", 800), ("pools", 500)])
    await _refund(payments, pid, 300)
    today = value_date(datetime.now(UTC)).isoformat()

    museum = await payments.client.get(
        "/ledger/balances", params={"department": "museum", "from": today, "to": today},
        headers=payments.staff_headers({"museum": ["manager"]}))
    assert museum.status_code == 200, museum.text
    body = museum.json()
    assert body["departments"] == ["museum"]
    assert {(a["account"], a["debit"], a["credit"], a["balance"]) for a in body["accounts"]} == {
        ("clearing:sandbox", 800, 185, 615), ("revenue:museum:MUS-4100", 185, 800, -615)}
    assert body["balanced"] is True

    everything = (await payments.client.get(
        "/ledger/balances", headers=payments.client_headers("payment:reports"))).json()
    assert everything["totals"] == [{"currency": "EUR", "debit": 1600, "credit": 1600}]
    assert {a["department"] for a in everything["accounts"]} == {"museum", "pools"}
    mine = (await payments.client.get(
        "/ledger/balances", headers=payments.staff_headers({"pools": ["cashier"]}))).json()
    assert {a["department"] for a in mine["accounts"]} == {"pools"}
    earlier = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    empty = (await payments.client.get(
        "/ledger/balances", params={"to": earlier},
        headers=payments.client_headers("payment:reports"))).json()
    assert empty["accounts"] == []


async def test_balances_access_and_bad_input(payments: Any) -> None:
    await _paid(payments, [("museum", 800)])
    denied = [
        ({"department": "museum"}, payments.staff_headers({"pools": ["manager"]}), 403),
        ({}, payments.staff_headers({"museum": ["gatekeeper"]}), 403),
        ({}, payments.citizen_headers(), 403),
        ({}, payments.client_headers("payment:read"), 403),
        ({"department": "Museum!"}, payments.client_headers("payment:reports"), 422),
        ({"from": "2024-13-01"}, payments.client_headers("payment:reports"), 422),
        ({"from": "2024-02-02", "to": "2024-02-01"}, payments.client_headers("payment:reports"),
         422),
    ]
    for params, headers, expected in denied:
        response = await payments.client.get("/ledger/balances", params=params, headers=headers)
        assert response.status_code == expected, (params, response.text)
    assert (await payments.client.get("/ledger/balances")).status_code == 401
    other = await payments.client.get(
        "/ledger/balances",
        headers=payments.client_headers("payment:reports", tenant=payments.OTHER_TENANT))
    assert other.status_code == 200
    assert other.json()["accounts"] == []


@pytest.mark.parametrize("bad", ["0", "1700000000"])
async def test_a_ledger_date_that_is_a_number_is_refused_not_read_as_1970(
    payments: Any, bad: str,
) -> None:
    response = await payments.client.get(
        "/ledger/balances", params={"department": "museum", "from": bad},
        headers=payments.staff_headers({"museum": ["manager"]}))
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
