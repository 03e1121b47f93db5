"""Expiry by the worker, and money that arrives after a payment was closed (recorded and
refunded, never lost and never booked as revenue)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from city_shared.topics import TopicSpec, ensure_topics
from payment_service.payments.expiry import expire_overdue
from payment_service.payments.handlers import IDENTITY_ACCOUNTS_TOPIC
from payment_service.worker import run_payment_worker

LATER = timedelta(minutes=91)


async def test_the_job_expires_overdue_open_payments_only(payments: Any) -> None:
    created = await payments.create()
    started = await payments.create()
    async with httpx_browser(payments) as browser:
        await browser.get(started["next_url"])
    paid = await payments.create()
    await payments.send_webhook(payments.notification("payment.succeeded",
                                                      paid["provider_payment_id"]))

    assert await expire_overdue(payments.sessions, now=datetime.now(UTC)) == 0
    assert await expire_overdue(payments.sessions, now=datetime.now(UTC) + LATER) == 2

    for payment in (created, started):
        state = (await payments.get(payment["payment_id"])).json()["state"]
        assert state == {"status": "expired", "finished": True, "reason": "expired"}
        assert (await payments.events_of(payment["payment_id"]))[-1] == (
            "city.payment.payment.expired.v1")
    assert (await payments.row(paid["payment_id"])).status == "succeeded"
    assert await expire_overdue(payments.sessions, now=datetime.now(UTC) + LATER) == 0


async def test_the_job_skips_a_payment_another_transaction_holds(payments: Any) -> None:
    held = await payments.create()
    free = await payments.create()
    async with payments.engine.connect() as conn, conn.begin():
        await conn.execute(text("SELECT 1 FROM payments WHERE id = :id FOR UPDATE"),
                           {"id": held["payment_id"]})
        expired = await asyncio.wait_for(
            expire_overdue(payments.sessions, now=datetime.now(UTC) + LATER), timeout=10)
    assert expired == 1
    assert (await payments.row(free["payment_id"])).status == "expired"
    assert (await payments.row(held["payment_id"])).status == "created"
    assert await expire_overdue(payments.sessions, now=datetime.now(UTC) + LATER) == 1


async def test_expiry_is_configurable(payments_app: Any) -> None:
    async with payments_app(payment_expiry_seconds=600) as payments:
        created = await payments.create()
        made = datetime.fromisoformat(created["created_at"])
        assert datetime.fromisoformat(created["expires_at"]) - made == timedelta(minutes=10)
        assert await expire_overdue(
            payments.sessions, now=made + timedelta(minutes=11)) == 1


@pytest.mark.parametrize("close", ["expire", "cancel"])
async def test_a_success_after_closing_is_recorded_and_refunded(
    payments: Any, refund_requests: list[tuple[str, int, str, str]], close: str
) -> None:
    created = await payments.create()
    pid = created["payment_id"]
    if close == "expire":
        await expire_overdue(payments.sessions, now=datetime.now(UTC) + LATER)
    else:
        await payments.client.post(f"/payments/{pid}/cancel", headers=payments.client_headers())
    closed = "expired" if close == "expire" else "cancelled"

    late = await payments.send_webhook(payments.notification(
        "payment.succeeded", created["provider_payment_id"]))
    assert late.status_code == 200
    assert late.json() == {"status": "late_success"}

    assert (await payments.row(pid)).status == closed
    assert refund_requests == [(pid, 1300, "late_success", "system")]
    assert (await payments.history(pid))[-1] == (
        "city.payment.payment.late_succeeded.v1", closed, "expired" if close == "expire"
        else "cancelled_by_service")
    [event] = await payments.outbox("city.payment.payment.late_succeeded.v1")
    assert event.key == pid
    assert event.data["reference"] == created["reference"]
    assert (event.data["captured_amount"], event.data["refund_requested"]) == (1300, True)
    assert await payments.outbox("city.payment.payment.succeeded.v1") == []

    # Reported again under another notification id: still one refund.
    again = await payments.send_webhook(payments.notification(
        "payment.succeeded", created["provider_payment_id"]))
    assert again.json() == {"status": "no_change"}
    assert len(refund_requests) == 1


async def test_the_worker_expires_payments_on_its_own(
    payments_app: Any, kafka_bootstrap: str
) -> None:
    async with payments_app(payment_expiry_seconds=60) as payments:
        created = await payments.create()
        async with payments.engine.begin() as conn:
            await conn.execute(text("UPDATE payments SET expires_at = now() - interval '1 s'"
                                    " WHERE id = :id"), {"id": created["payment_id"]})
        settings = payments.settings.model_copy(update={
            "kafka_bootstrap_servers": kafka_bootstrap, "expiry_interval_seconds": 0.2,
            "outbox_poll_interval_seconds": 0.2})
        # identity's worker provisions the topic the erasure handler reads; the shared
        # consumer does not start before every topic it subscribes to exists.
        await ensure_topics(kafka_bootstrap, [TopicSpec(IDENTITY_ACCOUNTS_TOPIC)])
        stop = asyncio.Event()
        worker = asyncio.create_task(run_payment_worker(settings, stop))
        try:
            for _ in range(300):  # up to 60 s: the worker provisions topics first
                if (await payments.row(created["payment_id"])).status == "expired":
                    break
                assert not worker.done(), worker
                await asyncio.sleep(0.2)
            assert (await payments.row(created["payment_id"])).status == "expired"
        finally:
            stop.set()
            await asyncio.wait_for(worker, timeout=30)


def httpx_browser(payments: Any) -> Any:
    import httpx

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=payments.app),
                             base_url=payments.BASE_URL)
