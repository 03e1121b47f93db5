"""The expiry job's heartbeat, which the alert ``PaymentExpiryNotRunning`` reads: registered
when the job starts, and a last success only after a round that reached the database."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import REGISTRY

from payment_service.payments.expiry import EXPIRY_JOB, run_expiry


def last_success() -> float | None:
    return REGISTRY.get_sample_value("city_job_last_success_timestamp_seconds",
                                     {"task": EXPIRY_JOB})


async def test_a_completed_round_is_the_jobs_heartbeat(payments: Any) -> None:
    before = last_success() or 0.0
    stop = asyncio.Event()
    task = asyncio.create_task(run_expiry(payments.sessions, stop, interval=60, batch_size=10))
    try:
        for _ in range(200):
            if (last_success() or 0.0) > before:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task

    assert REGISTRY.get_sample_value("city_job_interval_seconds", {"task": EXPIRY_JOB}) == 60
    assert (last_success() or 0.0) > before
