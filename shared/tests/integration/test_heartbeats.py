"""Heartbeats of worker jobs (:mod:`city_shared.heartbeats`) against a real PostgreSQL: a sweep
whose rounds fail is registered but never reports a success (the alert for a job that is not
running sees it), and one whose rounds complete reports when the last one did."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.db import create_engine, create_session_factory
from city_shared.sweeps import run_sweep

MakeDatabase = Callable[[], Awaitable[str]]


def last_success(task: str) -> float | None:
    return REGISTRY.get_sample_value("city_job_last_success_timestamp_seconds", {"task": task})


def interval(task: str) -> float | None:
    return REGISTRY.get_sample_value("city_job_interval_seconds", {"task": task})


async def run_rounds(url: str, name: str, *, fail: bool, rounds: int = 3) -> None:
    engine = create_engine(url, pool_size=1)
    stop = asyncio.Event()
    done = 0

    async def sweep(session: AsyncSession, now: datetime) -> int:
        nonlocal done
        done += 1
        if done >= rounds:
            stop.set()
        await session.execute(text("SELECT * FROM no_such_table" if fail else "SELECT 1"))
        return 0

    try:
        await asyncio.wait_for(
            run_sweep(create_session_factory(engine), sweep, stop, name=name, interval=0.01),
            timeout=30)
    finally:
        await engine.dispose()


async def test_a_sweep_that_always_fails_is_registered_without_a_success(
        database_url: MakeDatabase) -> None:
    await run_rounds(await database_url(), "heartbeat failing", fail=True)

    assert interval("heartbeat failing") == 0.01
    assert last_success("heartbeat failing") is None


async def test_a_sweep_that_completes_reports_its_last_round(database_url: MakeDatabase) -> None:
    before = time.time()
    await run_rounds(await database_url(), "heartbeat working", fail=False)

    assert interval("heartbeat working") == 0.01
    beat = last_success("heartbeat working")
    assert beat is not None
    assert before <= beat <= time.time()
