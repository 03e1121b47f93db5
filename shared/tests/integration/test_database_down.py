"""A service API while its PostgreSQL is down and after it is back: every call answers 503
problem+json ``service_unavailable`` with ``Retry-After`` (never 500, never a hung request),
``/readyz`` says 503, and once the server is up again the same calls succeed on the same app
(the pool recovers) and an ``Idempotency-Key`` used during the outage works.

The tests stop and start a PostgreSQL server of their own, never the session's.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from city_shared.app import create_service_app
from city_shared.backbone import create_backbone
from city_shared.db import create_engine
from city_shared.dependencies import SessionDep
from city_shared.errors import PROBLEM_CONTENT_TYPE
from city_shared.settings import ServiceSettings
from city_shared.testing import serve_in_process
from devstack.ports import free_port
from devstack.postgres import PostgresServer
from devstack.sessions import create_session_dir

GATE_TIMEOUT = 10.0
DATABASE = "things"


class ThingCreate(BaseModel):
    name: str


@dataclass
class Gate:
    """Holds ``POST /things`` after its Idempotency-Key was taken, until the test opens it."""

    closed: bool = False
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)


def build_app(database_url: str, gate: Gate) -> FastAPI:
    router = APIRouter()

    @router.get("/things")
    async def count_things(session: SessionDep) -> dict[str, int]:
        count = (await session.execute(text("SELECT count(*) FROM things"))).scalar_one()
        return {"count": int(count)}

    @router.post("/things", status_code=201)
    async def create_thing(payload: ThingCreate, session: SessionDep) -> dict[str, int]:
        if gate.closed:
            gate.entered.set()
            await asyncio.wait_for(gate.opened.wait(), GATE_TIMEOUT)
        thing_id = (await session.execute(
            text("INSERT INTO things (name) VALUES (:name) RETURNING id"),
            {"name": payload.name},
        )).scalar_one()
        return {"id": int(thing_id)}

    settings = ServiceSettings(service_name="things", database_url=database_url,
                               database_pool_size=2, log_json=False)
    return create_service_app(settings, title="things", description="A tiny service.",
                              routers=[router])


@pytest.fixture(scope="module")
async def postgres() -> AsyncIterator[PostgresServer]:
    root = create_session_dir()
    server = PostgresServer(root / "postgres", free_port(), fsync=False)
    try:
        await server.start()
        yield server
    finally:
        try:
            server.kill()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def database_url(postgres: PostgresServer) -> AsyncIterator[str]:
    await postgres.start()  # a no-op unless an earlier test left it stopped
    await postgres.drop_database(DATABASE)
    url = await postgres.create_database(DATABASE)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(create_backbone)
            await conn.execute(text("CREATE TABLE things (id bigserial PRIMARY KEY, name text)"))
    finally:
        await engine.dispose()
    yield url
    await postgres.start()


def assert_unavailable(response: httpx.Response, postgres: PostgresServer) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert body["status"] == 503
    # Nothing about where the database is (no DSN, host or port) reaches the client.
    assert str(postgres.port) not in response.text
    assert "postgresql" not in response.text.lower()


async def test_api_answers_503_while_the_database_is_down_and_recovers_after(
    postgres: PostgresServer, database_url: str
) -> None:
    app = build_app(database_url, Gate())
    async with serve_in_process(app, base_url="http://things.test") as client:
        assert (await client.get("/things")).json() == {"count": 0}
        assert (await client.get("/readyz")).status_code == 200

        await postgres.stop()
        read = await client.get("/things")
        write = await client.post("/things", json={"name": "a"},
                                  headers={"Idempotency-Key": "during-outage"})
        ready = await client.get("/readyz")

        assert_unavailable(read, postgres)
        assert_unavailable(write, postgres)
        assert ready.status_code == 503

        await postgres.start()
        after_read = await client.get("/things")
        after_write = await client.post("/things", json={"name": "a"},
                                        headers={"Idempotency-Key": "during-outage"})
        replay = await client.post("/things", json={"name": "a"},
                                   headers={"Idempotency-Key": "during-outage"})
        after_ready = await client.get("/readyz")
        final = await client.get("/things")

    assert after_read.json() == {"count": 0}
    assert after_write.status_code == 201, after_write.text
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == after_write.content
    assert after_ready.status_code == 200
    assert final.json() == {"count": 1}


async def test_key_claimed_before_the_outage_is_usable_at_once_after_recovery(
    postgres: PostgresServer, database_url: str
) -> None:
    """The key is taken (an advisory lock in the request's transaction), then the database goes
    away while the route runs: the client gets 503 (not 500, not a hang), and its retry after
    recovery runs the request at once: the lock died with the connection, so there is no
    claim left to answer 409 ``idempotency_key_in_flight``."""
    gate = Gate(closed=True)
    app = build_app(database_url, gate)
    key = {"Idempotency-Key": "claimed-then-down"}
    async with serve_in_process(app, base_url="http://things.test") as client:
        first = asyncio.create_task(client.post("/things", json={"name": "b"}, headers=key))
        await asyncio.wait_for(gate.entered.wait(), GATE_TIMEOUT)
        await postgres.stop()
        gate.opened.set()
        during = await asyncio.wait_for(first, GATE_TIMEOUT)

        await postgres.start()
        gate.closed = False
        retry = await client.post("/things", json={"name": "b"}, headers=key)
        final = await client.get("/things")

    assert_unavailable(during, postgres)
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert final.json() == {"count": 1}
