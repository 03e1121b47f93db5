"""A request that finds every pooled database connection taken waits at most
``CITY_DATABASE_POOL_TIMEOUT_SECONDS`` (5 s by default, not SQLAlchemy's 30 s), then answers 503
``service_unavailable`` with ``Retry-After``, never a hang or a 500; with connections to spare the
same request runs (negative control). Against a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from city_shared.app import create_service_app
from city_shared.dependencies import SessionDep
from city_shared.errors import PROBLEM_CONTENT_TYPE
from city_shared.settings import ServiceSettings
from city_shared.testing import serve_in_process

#: A guard against a hung test, never an assertion about how long something took.
GUARD_SECONDS = 10.0
#: ``database_pool_size=1`` allows one pooled connection plus one overflow connection.
CONNECTIONS = 2


@dataclass
class Gate:
    """Holds ``GET /hold`` with its connection checked out until opened."""

    entered: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    async def until_entered(self, count: int) -> None:
        async def wait() -> None:
            while self.entered < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), GUARD_SECONDS)


def build_app(database_url: str, gate: Gate, *, pool_size: int) -> FastAPI:
    router = APIRouter()

    @router.get("/hold")
    async def hold(session: SessionDep) -> dict[str, int]:
        value = (await session.execute(text("SELECT 1"))).scalar_one()
        gate.entered += 1
        gate.changed.set()
        await asyncio.wait_for(gate.opened.wait(), GUARD_SECONDS)
        return {"value": int(value)}

    settings = ServiceSettings(service_name="pooled", database_url=database_url,
                               log_json=False, database_pool_size=pool_size,
                               database_pool_timeout_seconds=0.05)
    return create_service_app(settings, title="pooled", description="test", routers=[router])


def test_the_default_pool_timeout_is_5_seconds(environ: pytest.MonkeyPatch) -> None:
    assert ServiceSettings(service_name="pooled").database_pool_timeout_seconds == 5.0


async def test_no_free_connection_answers_503_with_retry_after(
    database_url: Callable[[], Awaitable[str]],
) -> None:
    gate = Gate()
    app = build_app(await database_url(), gate, pool_size=1)
    async with serve_in_process(app, base_url="http://test") as client:
        assert app.state.engine.pool.timeout() == 0.05
        holding = [asyncio.create_task(client.get("/hold")) for _ in range(CONNECTIONS)]
        await gate.until_entered(CONNECTIONS)

        starved = await client.get("/hold")
        assert starved.status_code == 503, starved.text
        assert starved.headers["content-type"] == PROBLEM_CONTENT_TYPE
        assert int(starved.headers["retry-after"]) > 0
        assert starved.json()["code"] == "service_unavailable"
        assert gate.entered == CONNECTIONS

        gate.opened.set()
        held = await asyncio.gather(*holding)
        after = await client.get("/hold")
    assert [r.status_code for r in held] == [200] * CONNECTIONS
    assert after.status_code == 200, after.text


async def test_with_connections_to_spare_the_same_request_runs(
    database_url: Callable[[], Awaitable[str]],
) -> None:
    """Negative control: the 503 above comes from the exhausted pool."""
    gate = Gate()
    app = build_app(await database_url(), gate, pool_size=5)
    async with serve_in_process(app, base_url="http://test") as client:
        holding = [asyncio.create_task(client.get("/hold")) for _ in range(CONNECTIONS + 1)]
        await gate.until_entered(CONNECTIONS + 1)
        gate.opened.set()
        responses = await asyncio.gather(*holding)
    assert [r.status_code for r in responses] == [200] * (CONNECTIONS + 1)
