"""Stalled-saga counts (:mod:`city_shared.sagas`) on ``/readyz`` and in the worker job: a count
that fails or takes too long never makes ``/readyz`` fail, and a failed round of the job is
followed by the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.app import create_service_app
from city_shared.db import create_engine, create_session_factory
from city_shared.sagas import StallCounter, watch_stalled_sagas
from city_shared.settings import ServiceSettings
from city_shared.testing import serve_in_process

MakeDatabase = Callable[[], Awaitable[str]]


def build_app(url: str, counter: StallCounter) -> FastAPI:
    settings = ServiceSettings(service_name="sagas-test", database_url=url, log_json=False)
    return create_service_app(settings, title="t", description="t", stalled_sagas=counter)


async def counted(session: AsyncSession) -> Mapping[str, int]:
    return {"thing_stuck": int((await session.execute(text("SELECT 2"))).scalar_one())}


async def broken(session: AsyncSession) -> Mapping[str, int]:
    await session.execute(text("SELECT * FROM no_such_table"))
    return {}


async def slow(session: AsyncSession) -> Mapping[str, int]:
    await session.execute(text("SELECT pg_sleep(30)"))
    return {"thing_stuck": 1}


async def test_readyz_shows_the_counts_and_sets_the_gauge(database_url: MakeDatabase) -> None:
    async with serve_in_process(build_app(await database_url(), counted),
                                base_url="http://t") as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["stalled_sagas"] == {"thing_stuck": 2}
    assert REGISTRY.get_sample_value(
        "city_stalled_sagas", {"service": "sagas-test", "kind": "thing_stuck"}) == 2


@pytest.mark.parametrize("counter", [broken, slow], ids=["failing", "too_slow"])
async def test_a_count_that_fails_leaves_readyz_ready(
    database_url: MakeDatabase, counter: StallCounter
) -> None:
    async with serve_in_process(build_app(await database_url(), counter),
                                base_url="http://t") as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "stalled_sagas": None}


async def test_the_worker_job_refreshes_the_gauge_after_a_failed_round(
    database_url: MakeDatabase,
) -> None:
    engine = create_engine(await database_url(), pool_size=1)
    stop = asyncio.Event()
    rounds = 0

    async def flaky(session: AsyncSession) -> Mapping[str, int]:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise ConnectionResetError(104, "Connection reset by peer")
        stop.set()  # the second round is the last
        return {"job_stuck": 7}

    try:
        await asyncio.wait_for(watch_stalled_sagas(
            create_session_factory(engine), flaky, stop, service="sagas-test", interval=0.01), 10)
    finally:
        await engine.dispose()

    assert rounds == 2
    assert REGISTRY.get_sample_value(
        "city_stalled_sagas", {"service": "sagas-test", "kind": "job_stuck"}) == 7
