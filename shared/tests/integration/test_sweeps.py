"""Periodic sweeps (:mod:`city_shared.sweeps`) against a real PostgreSQL: full rounds follow
each other at once, a round commits what it did, and a failing round (the database refusing)
is rolled back and followed by the next one instead of ending the job."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.db import create_engine, create_session_factory
from city_shared.sweeps import run_sweep

MakeDatabase = Callable[[], Awaitable[str]]


async def test_full_rounds_run_back_to_back_and_a_failed_round_is_retried(
        database_url: MakeDatabase) -> None:
    engine = create_engine(await database_url(), pool_size=2)
    sessions = create_session_factory(engine)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE due (id int PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO due SELECT generate_series(1, 25)"))
    stop = asyncio.Event()
    rounds: list[str] = []

    async def sweep(session: AsyncSession, now: datetime) -> int:
        if len(rounds) == 1:
            rounds.append("failed")
            # Deletes, then fails: the unit of work must roll the deletes back.
            await session.execute(text("DELETE FROM due"))
            await session.execute(text("SELECT * FROM no_such_table"))
        deleted = (await session.execute(text(
            "DELETE FROM due WHERE id IN (SELECT id FROM due ORDER BY id LIMIT 10) "
            "RETURNING id"))).all()
        rounds.append(f"deleted {len(deleted)}")
        if len(deleted) < 10:
            stop.set()
        return len(deleted)

    try:
        await asyncio.wait_for(
            run_sweep(sessions, sweep, stop, name="test", interval=0.05, batch_size=10),
            timeout=30)
        async with engine.connect() as conn:
            left = (await conn.execute(text("SELECT count(*) FROM due"))).scalar_one()
    finally:
        await engine.dispose()

    assert rounds == ["deleted 10", "failed", "deleted 10", "deleted 5"]
    assert left == 0
