"""An API's pooled connections do not ping the database before each request (three round trips
saved per request): when PostgreSQL restarts, a request that meets a connection the old server
closed answers 503 ``service_unavailable`` with ``Retry-After``, never a 500, and the pool then
replaces its stale connections, so the API answers 200 again by itself. The control: the same
app whose engine pings before each checkout never meets a stale connection, which shows the
first app really had them."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text

from city_shared import app as app_module
from city_shared.app import create_service_app
from city_shared.db import create_engine
from city_shared.dependencies import SessionDep
from city_shared.errors import PROBLEM_CONTENT_TYPE
from city_shared.settings import ServiceSettings
from city_shared.testing import serve_in_process
from devstack.ports import free_port
from devstack.postgres import PostgresServer
from devstack.sessions import POSTGRES_SUBDIR, create_session_dir

POOL = 3
#: Requests after the restart, far more than the pool has connections.
AFTER = 12


@pytest.fixture
async def private_postgres() -> AsyncIterator[PostgresServer]:
    """A PostgreSQL of this test's own (the session's serves every other test)."""
    root = create_session_dir()
    server = PostgresServer(root / POSTGRES_SUBDIR, free_port())
    try:
        await server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


def build_app(database_url: str) -> FastAPI:
    router = APIRouter()

    @router.get("/one")
    async def one(session: SessionDep) -> dict[str, int]:
        await asyncio.sleep(0.01)  # overlap, so the pool opens several connections
        return {"value": int((await session.execute(text("SELECT 1"))).scalar_one())}

    settings = ServiceSettings(service_name="restarted", database_url=database_url,
                               log_json=False, database_pool_size=POOL)
    return create_service_app(settings, title="restarted", description="test", routers=[router])


@pytest.mark.parametrize("pre_ping", [False, True], ids=["api-engine", "control-pre-ping"])
async def test_a_restarted_database_costs_503s_with_retry_after_then_the_api_recovers(
    private_postgres: PostgresServer, pre_ping: bool, monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = await private_postgres.create_database("restarted")
    if pre_ping:
        def pinging(*args: object, **kwargs: object) -> object:
            kwargs["pre_ping"] = True
            return create_engine(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(app_module, "create_engine", pinging)
    app = build_app(url)
    async with serve_in_process(app, base_url="http://test") as client:
        warm = await asyncio.gather(*(client.get("/one") for _ in range(POOL)))
        assert [r.status_code for r in warm] == [200] * POOL
        assert app.state.engine.pool.checkedin() >= 2  # stale-to-be connections in the pool

        private_postgres.kill()
        await private_postgres.start()

        answers = [await client.get("/one") for _ in range(AFTER)]
        statuses = [r.status_code for r in answers]
        assert set(statuses) <= {200, 503}, statuses
        for refused in (r for r in answers if r.status_code == 503):
            assert refused.headers["content-type"] == PROBLEM_CONTENT_TYPE
            assert refused.json()["code"] == "service_unavailable"
            assert int(refused.headers["retry-after"]) > 0
        # Recovered by itself: once one request got through, every later one does.
        first_ok = statuses.index(200)
        assert statuses[first_ok:] == [200] * (AFTER - first_ok), statuses
        if pre_ping:
            assert statuses == [200] * AFTER
        else:
            assert 503 in statuses, "the API never met a stale connection: the test proves nothing"
