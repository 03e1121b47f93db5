"""Refunds never exceed the amount paid, also when many refund requests for one payment arrive
at the same moment; with the payment row lock taken out, the same test shows over-refunding."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.ledger.service import ledger_balances
from payment_service.payments.models import Payment
from payment_service.refunds import repository

AMOUNT = 1000
SHARE = 300  # 30 %: three fit, the fourth would exceed the payment
REQUESTS = 20


async def _paid(payments: Any) -> str:
    body = payments.body(amount=AMOUNT, line_items=[payments.line_item("museum", 600),
                                                    payments.line_item("pools", 400)])
    created = await payments.create(body)
    done = await payments.send_webhook(payments.notification(
        "payment.succeeded", created["provider_payment_id"], amount=AMOUNT))
    assert done.json() == {"status": "processed"}
    pid: str = created["payment_id"]
    return pid


def _widen_the_race(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sleep between reading what refunds hold and inserting the new one, so that without
    the lock the race is certain rather than likely."""
    pending = repository.pending_amount

    async def slow_pending(session: AsyncSession, payment_id: uuid.UUID) -> int:
        amount = await pending(session, payment_id)
        await asyncio.sleep(0.05)
        return amount

    monkeypatch.setattr(repository, "pending_amount", slow_pending)


async def _storm(payments: Any, pid: str) -> tuple[list[int], list[int]]:
    """``REQUESTS`` refund requests of ``SHARE`` at once, each from its own cashier session."""
    provider_calls: list[int] = []
    original = payments.sandbox.refund

    async def counting(payment: Any, amount: int, *, idempotency_key: str | None = None) -> Any:
        provider_calls.append(amount)
        return await original(payment, amount, idempotency_key=idempotency_key)

    payments.sandbox.refund = counting
    headers = payments.staff_headers({"museum": ["cashier"], "pools": ["cashier"]})
    start = asyncio.Event()

    async def one() -> int:
        await start.wait()
        response = await payments.client.post(
            f"/payments/{pid}/refunds", json={"amount": SHARE, "reason": "storm"},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code in (201, 409), response.text
        return int(response.status_code)

    tasks = [asyncio.create_task(one()) for _ in range(REQUESTS)]
    await asyncio.sleep(0)
    start.set()
    statuses = await asyncio.gather(*tasks)
    payments.sandbox.refund = original
    return statuses, provider_calls


async def test_concurrent_refund_requests_never_exceed_the_payment(
    payments: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = await _paid(payments)
    _widen_the_race(monkeypatch)

    statuses, paid_back = await _storm(payments, pid)

    assert statuses.count(201) == AMOUNT // SHARE
    assert paid_back == [SHARE] * (AMOUNT // SHARE)  # what the provider was asked to pay
    assert statuses.count(409) == REQUESTS - AMOUNT // SHARE
    row = await payments.row(pid)
    assert row.refunded_amount == (AMOUNT // SHARE) * SHARE
    assert row.refunded_amount <= row.amount
    assert await payments.scalar(
        "SELECT coalesce(sum(amount), 0) FROM refunds WHERE status <> 'failed'") <= AMOUNT
    async with payments.sessions() as session:
        assert await ledger_balances(session, payments.TENANT)


async def test_negative_control_without_the_row_lock_refunds_more_than_was_paid(
    payments: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = await _paid(payments)

    async def read_without_lock(session: AsyncSession, payment_id: uuid.UUID) -> Any:
        stmt = (select(Payment).where(Payment.id == payment_id)
                .execution_options(populate_existing=True))
        return (await session.execute(stmt)).scalar_one_or_none()

    monkeypatch.setattr(repository, "lock_payment", read_without_lock)
    _widen_the_race(monkeypatch)
    statuses, paid_back = await _storm(payments, pid)

    accepted = await payments.scalar(
        "SELECT coalesce(sum(amount), 0) FROM refunds WHERE status <> 'failed'")
    assert statuses.count(201) > AMOUNT // SHARE
    assert accepted > AMOUNT
    assert sum(paid_back) > AMOUNT
