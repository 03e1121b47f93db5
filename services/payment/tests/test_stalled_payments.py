"""Payments stalled waiting for their provider's outcome are visible on ``/readyz`` and in the
gauge ``city_stalled_sagas`` once they are past their expiry by more than the grace; a stall is
detail, ``/readyz`` stays 200."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import text

from payment_service.payments.stalls import stalled_payment_queries


def gauge() -> float | None:
    return REGISTRY.get_sample_value(
        "city_stalled_sagas", {"service": "payment", "kind": "payment_without_outcome"})


async def expired_ago(payments: Any, payment_id: str, seconds: float,
                      status: str | None = None) -> None:
    async with payments.engine.begin() as conn:
        updated = await conn.execute(
            text("UPDATE payments SET expires_at = now() - make_interval(secs => :seconds), "
                 "status = coalesce(CAST(:status AS text), status) WHERE id = :id"),
            {"id": payment_id, "seconds": seconds, "status": status})
    assert updated.rowcount == 1


async def test_readyz_and_the_gauge_show_payments_stalled_past_their_expiry(
    payments: Any,
) -> None:
    await payments.create()  # fresh: not stalled
    created = await payments.create()
    started = await payments.create()
    just_expired = await payments.create()
    finished = await payments.create()
    await expired_ago(payments, created["payment_id"], 600)
    await expired_ago(payments, started["payment_id"], 600, status="started")
    await expired_ago(payments, just_expired["payment_id"], 10)
    await expired_ago(payments, finished["payment_id"], 600, status="failed")

    response = await payments.client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up",
                               "stalled_sagas": {"payment_without_outcome": 2,
                                                 "payment_outcome_not_applied": 0}}
    assert gauge() == 2


async def test_the_grace_comes_from_the_settings(payments_app: Any) -> None:
    async with payments_app(stalled_outcome_grace_seconds=5) as payments:
        payment = await payments.create()
        await expired_ago(payments, payment["payment_id"], 10)

        response = await payments.client.get("/readyz")

    assert response.json()["stalled_sagas"]["payment_without_outcome"] == 1


async def test_the_count_reads_the_partial_index_of_open_payments(payments: Any) -> None:
    queries = stalled_payment_queries(payments.settings, datetime.now(UTC))
    async with payments.engine.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))
        compiled = queries["payment_without_outcome"].compile(
            dialect=payments.engine.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in (await conn.execute(text(f"EXPLAIN {compiled}"))))

    assert "ix_payments_open_expiry" in plan


async def test_a_decision_neither_webhook_nor_reconciliation_applied_is_a_stall(
    payments: Any,
) -> None:
    created = await payments.create()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=payments.app),
                                 base_url=payments.BASE_URL) as browser:
        page = await browser.get(created["next_url"])
        [form] = payments.forms(page.text)
        await browser.post(form.action, data={**form.fields, "action": "pay"})
    await payments.create()  # undecided: not this kind of stall
    async with payments.engine.begin() as conn:  # decided long ago, its webhook never arrived
        await conn.execute(text("UPDATE sandbox_notifications SET due_at = NULL, "
                                "decided_at = now() - interval '1 hour'"))

    stalled = (await payments.client.get("/readyz")).json()["stalled_sagas"]
    assert stalled["payment_outcome_not_applied"] == 1

    assert await payments.reconcile(now=datetime.now(UTC) + timedelta(minutes=5)) == 1
    stalled = (await payments.client.get("/readyz")).json()["stalled_sagas"]
    assert stalled["payment_outcome_not_applied"] == 0
