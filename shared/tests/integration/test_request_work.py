"""The unit of work of a request (RequestWorkMiddleware) against real PostgreSQL: one
transaction per request that commits when the route returns and rolls back when it raises, and
the Idempotency-Key record inside it: replay, mismatch, in flight under real concurrency (with a
negative control), per-caller scoping, 5xx, expiry, a crash between commit and response (with
the hand-committing route of old as negative control), purge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel
from sqlalchemy import event, text
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from city_shared.auth import MaybePrincipal
from city_shared.auth.testing import TokenFactory
from city_shared.backbone import create_backbone
from city_shared.db import create_engine
from city_shared.dependencies import SessionDep
from city_shared.errors import (
    PROBLEM_CONTENT_TYPE,
    Conflict,
    ServiceUnavailable,
    install_error_handlers,
)
from city_shared.idempotency import purge_expired, require_idempotency_key
from city_shared.request_work import RequestWorkMiddleware

N_CONCURRENT = 20
GATE_TIMEOUT = 10.0
THINGS_DDL = "CREATE TABLE things (id bigserial PRIMARY KEY, name text NOT NULL, owner text)"


class ThingCreate(BaseModel):
    name: str


class ThingRead(BaseModel):
    id: int
    name: str
    owner: str | None


@dataclass
class Harness:
    """A tiny service: ``POST /things`` inserts a row in the request's unit of work and answers
    201 with its id; ``POST /things-committed-by-hand`` does the same but commits itself, as
    routes did before the unit of work.

    While ``blocking`` is set, the handler waits for ``gate`` after counting itself in
    ``entered`` (and setting ``changed``); a thing named ``unavailable`` answers 503, one
    named ``crash`` raises, one named ``taken`` is inserted and then refused with 409.
    While ``kill_after_commit`` is set, the process "dies" (:class:`Killed`) right after the
    next commit of the database, before anything is sent.
    """

    app: FastAPI
    engine: AsyncEngine
    tokens: TokenFactory
    gate: asyncio.Event
    changed: asyncio.Event
    entered: int = 0
    blocking: bool = False
    kill_after_commit: bool = False

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(self.app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    async def rows(self) -> int:
        return await _scalar(self.engine, "SELECT count(*) FROM things")

    async def keys(self) -> int:
        return await _scalar(self.engine, "SELECT count(*) FROM idempotency_keys")


class Killed(BaseException):
    """The process dies (not an error the app could answer)."""


class KillableSession(Session):
    """Sessions of the harness: the kill switch listens on this class only."""


def build_harness(engine: AsyncEngine, tokens: TokenFactory) -> Harness:
    app = FastAPI()
    install_error_handlers(app)
    app.state.engine = engine
    app.state.session_factory = async_sessionmaker(
        engine, sync_session_class=KillableSession, expire_on_commit=False)
    app.state.token_verifier = tokens.verifier()
    harness = Harness(
        app=app, engine=engine, tokens=tokens, gate=asyncio.Event(), changed=asyncio.Event()
    )

    @event.listens_for(KillableSession, "after_commit")
    def kill(session: Session) -> None:
        if harness.kill_after_commit:
            harness.kill_after_commit = False
            raise Killed

    async def insert_thing(
        session: AsyncSession, payload: ThingCreate, principal: MaybePrincipal
    ) -> ThingRead:
        harness.entered += 1
        harness.changed.set()
        if harness.blocking:
            # Bounded, so a broken middleware fails the test instead of hanging it.
            await asyncio.wait_for(harness.gate.wait(), GATE_TIMEOUT)
        if payload.name == "unavailable":
            raise ServiceUnavailable("try again")
        if payload.name == "crash":
            raise RuntimeError("handler crashed")
        owner = principal.sub if principal else None
        thing_id = (
            await session.execute(
                text("INSERT INTO things (name, owner) VALUES (:name, :owner) RETURNING id"),
                {"name": payload.name, "owner": owner},
            )
        ).scalar_one()
        if payload.name == "taken":
            raise Conflict("That name is taken.")
        return ThingRead(id=thing_id, name=payload.name, owner=owner)

    @app.post("/things", status_code=201)
    async def create_thing(
        session: SessionDep, payload: ThingCreate, principal: MaybePrincipal, response: Response
    ) -> ThingRead:
        thing = await insert_thing(session, payload, principal)
        response.headers["Location"] = f"/things/{thing.id}"
        response.set_cookie("session", "secret")
        return thing

    @app.post("/things-committed-by-hand", status_code=201)
    async def create_thing_committing(
        session: SessionDep, payload: ThingCreate, principal: MaybePrincipal
    ) -> ThingRead:
        thing = await insert_thing(session, payload, principal)
        await session.commit()  # the pattern the unit of work replaced
        return thing

    @app.post("/payments", status_code=201)
    async def create_payment(
        session: SessionDep,
        payload: ThingCreate,
        principal: MaybePrincipal,
        _key: Annotated[str, Depends(require_idempotency_key)],
    ) -> ThingRead:
        return await insert_thing(session, payload, principal)

    app.add_middleware(RequestWorkMiddleware, ttl_seconds=3600)
    return harness


async def _scalar(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def _execute(engine: AsyncEngine, sql: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql))


@pytest.fixture(scope="module")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
async def engine(database_url: Callable[[], Awaitable[str]]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await database_url(), pool_size=5)
    async with engine.begin() as conn:
        await conn.run_sync(create_backbone)
        await conn.execute(text(THINGS_DDL))
    yield engine
    await engine.dispose()


@pytest.fixture
def harness(engine: AsyncEngine, tokens: TokenFactory) -> Harness:
    return build_harness(engine, tokens)


def _key(value: str, token: str | None = None) -> dict[str, str]:
    headers = {"Idempotency-Key": value}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()


async def test_replay_returns_the_first_response_byte_for_byte_and_runs_once(
    harness: Harness,
) -> None:
    token = harness.tokens.issue(sub="alice")
    async with harness.client() as client:
        first = await client.post("/things", json={"name": "a"}, headers=_key("k-1", token))
        again = await client.post("/things", json={"name": "a"}, headers=_key("k-1", token))

    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert "set-cookie" in first.headers
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "set-cookie" not in again.headers
    assert await harness.rows() == 1


async def test_same_key_with_another_request_is_422_and_changes_nothing(
    harness: Harness,
) -> None:
    token = harness.tokens.issue(sub="alice")
    async with harness.client() as client:
        first = await client.post("/things", json={"name": "a"}, headers=_key("k-1", token))
        other_body = await client.post("/things", json={"name": "b"}, headers=_key("k-1", token))
        other_query = await client.post(
            "/things?x=1", json={"name": "a"}, headers=_key("k-1", token)
        )
        original = await client.post("/things", json={"name": "a"}, headers=_key("k-1", token))

    _assert_problem(other_body, 422, "idempotency_key_mismatch")
    _assert_problem(other_query, 422, "idempotency_key_mismatch")
    assert original.content == first.content
    assert original.headers["idempotent-replayed"] == "true"
    assert await harness.rows() == 1


Send = Callable[[], Coroutine[Any, Any, httpx.Response]]


async def _wait_for(harness: Harness, condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(GATE_TIMEOUT):
        while not condition():
            harness.changed.clear()
            await harness.changed.wait()


async def _fire_concurrently(harness: Harness, send: Send, n: int) -> list[httpx.Response]:
    """Start ``n`` requests while the handler is blocked; release it once every request either
    entered the handler or already has its answer; return the responses."""
    harness.blocking = True
    tasks = [asyncio.create_task(send()) for _ in range(n)]
    for task in tasks:
        task.add_done_callback(lambda _: harness.changed.set())
    await _wait_for(harness, lambda: harness.entered + sum(t.done() for t in tasks) == n)
    assert harness.entered >= 1
    harness.gate.set()
    return list(await asyncio.gather(*tasks))


async def test_concurrent_requests_with_one_key_execute_once_others_get_409(
    harness: Harness,
) -> None:
    token = harness.tokens.issue(sub="alice")
    async with harness.client() as client:

        async def send() -> httpx.Response:
            return await client.post("/things", json={"name": "a"}, headers=_key("k-1", token))

        responses = await _fire_concurrently(harness, send, N_CONCURRENT)
        retry = await send()

    created = [r for r in responses if r.status_code == 201]
    busy = [r for r in responses if r.status_code != 201]
    assert harness.entered == 1
    assert len(created) == 1
    assert len(busy) == N_CONCURRENT - 1
    for response in busy:
        _assert_problem(response, 409, "idempotency_key_in_flight")
        assert int(response.headers["retry-after"]) >= 1
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == created[0].content
    assert await harness.rows() == 1


async def test_negative_control_without_the_key_concurrent_requests_all_execute(
    harness: Harness,
) -> None:
    token = harness.tokens.issue(sub="alice")
    async with harness.client() as client:

        async def send() -> httpx.Response:
            return await client.post("/things", json={"name": "a"},
                                     headers={"Authorization": f"Bearer {token}"})

        responses = await _fire_concurrently(harness, send, N_CONCURRENT)

    assert [r.status_code for r in responses] == [201] * N_CONCURRENT
    assert await harness.rows() == N_CONCURRENT


async def test_callers_with_the_same_key_never_see_each_others_responses(
    harness: Harness,
) -> None:
    alice = harness.tokens.issue(sub="alice")
    bob = harness.tokens.issue(sub="bob")
    alice_elsewhere = harness.tokens.issue(sub="alice", tenant="ulm")
    callers = [alice, bob, alice_elsewhere, None]
    async with harness.client() as client:
        first = [
            await client.post("/things", json={"name": "a"}, headers=_key("shared", token))
            for token in callers
        ]
        replays = [
            await client.post("/things", json={"name": "a"}, headers=_key("shared", token))
            for token in callers
        ]

    assert [r.status_code for r in first] == [201] * len(callers)
    assert [r.json()["owner"] for r in first] == ["alice", "bob", "alice", None]
    assert len({r.json()["id"] for r in first}) == len(callers)
    for original, replay in zip(first, replays, strict=True):
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.content == original.content
    assert await harness.rows() == len(callers)


async def test_a_token_that_does_not_verify_bypasses_idempotency_and_gets_401(
    harness: Harness,
) -> None:
    expired = harness.tokens.issue(sub="alice", exp_in=-300)
    async with harness.client() as client:
        response = await client.post("/things", json={"name": "a"}, headers=_key("k-1", expired))

    _assert_problem(response, 401, "not_authenticated")
    assert await harness.keys() == 0
    assert await harness.rows() == 0


@pytest.mark.parametrize("name", ["unavailable", "crash"])
async def test_a_5xx_is_not_stored_and_the_retry_executes(harness: Harness, name: str) -> None:
    token = harness.tokens.issue(sub="alice")
    async with harness.client() as client:
        failed = await client.post("/things", json={"name": name}, headers=_key("k-1", token))
        assert failed.status_code >= 500
        assert await harness.keys() == 0
        retried = await client.post("/things", json={"name": name}, headers=_key("k-1", token))

    assert retried.status_code == failed.status_code
    assert "idempotent-replayed" not in retried.headers
    assert harness.entered == 2


async def test_an_expired_key_is_executed_again(harness: Harness) -> None:
    token = harness.tokens.issue(sub="alice")
    async with harness.client() as client:
        first = await client.post("/things", json={"name": "a"}, headers=_key("k-1", token))
        await _execute(harness.engine, "UPDATE idempotency_keys SET expires_at = now()")
        second = await client.post("/things", json={"name": "a"}, headers=_key("k-1", token))
        replay = await client.post("/things", json={"name": "a"}, headers=_key("k-1", token))

    assert second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert replay.content == second.content
    assert await harness.rows() == 2


async def test_an_error_rolls_back_the_change_and_stores_nothing(harness: Harness) -> None:
    token = harness.tokens.issue(sub="alice")
    async with harness.client() as client:
        refused = await client.post("/things", json={"name": "taken"}, headers=_key("k-1", token))
        unkeyed = await client.post("/things", json={"name": "taken"},
                                    headers={"Authorization": f"Bearer {token}"})

    _assert_problem(refused, 409, "conflict")
    _assert_problem(unkeyed, 409, "conflict")
    assert harness.entered == 2
    assert await harness.rows() == 0
    assert await harness.keys() == 0


async def _killed_after_commit_then_retried(harness: Harness, path: str) -> httpx.Response:
    """The process dies right after the first commit of a keyed request; the client retries."""
    token = harness.tokens.issue(sub="alice")
    async with harness.client() as client:
        harness.kill_after_commit = True
        with pytest.raises(Killed):
            await client.post(path, json={"name": "a"}, headers=_key("k-1", token))
        return await client.post(path, json={"name": "a"}, headers=_key("k-1", token))


async def test_a_crash_between_commit_and_response_is_answered_by_the_retry_without_rerunning(
    harness: Harness,
) -> None:
    retry = await _killed_after_commit_then_retried(harness, "/things")

    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert harness.entered == 1
    assert await harness.rows() == 1


async def test_negative_control_a_route_that_commits_by_hand_runs_twice_after_that_crash(
    harness: Harness,
) -> None:
    retry = await _killed_after_commit_then_retried(harness, "/things-committed-by-hand")

    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert harness.entered == 2
    assert await harness.rows() == 2


async def test_invalid_keys_are_rejected_with_400(harness: Harness) -> None:
    async with harness.client() as client:
        responses = [
            await client.post("/things", json={"name": "a"}, headers=_key(value))
            for value in ("", "has space", "x" * 256)
        ]
        non_ascii = [(b"Idempotency-Key", b"caf\xe9")]
        responses.append(await client.post("/things", json={"name": "a"}, headers=non_ascii))
        repeated = [(b"Idempotency-Key", b"k-1"), (b"Idempotency-Key", b"k-1")]
        responses.append(await client.post("/things", json={"name": "a"}, headers=repeated))
        longest = await client.post("/things", json={"name": "a"}, headers=_key("~" * 255))

    for response in responses:
        _assert_problem(response, 400, "invalid_idempotency_key")
    assert longest.status_code == 201
    assert await harness.rows() == 1


async def test_a_route_that_requires_the_key_rejects_a_request_without_it(
    harness: Harness,
) -> None:
    async with harness.client() as client:
        missing = await client.post("/payments", json={"name": "a"})
        given = await client.post("/payments", json={"name": "a"}, headers=_key("p-1"))

    _assert_problem(missing, 400, "idempotency_key_required")
    assert given.status_code == 201
    assert await harness.rows() == 1
    parameters = harness.app.openapi()["paths"]["/payments"]["post"]["parameters"]
    assert {"name": "Idempotency-Key", "in": "header"}.items() <= parameters[0].items()


async def test_purge_expired_deletes_only_expired_rows(harness: Harness) -> None:
    async with harness.client() as client:
        for key in ("old-1", "old-2", "fresh"):
            await client.post("/things", json={"name": "a"}, headers=_key(key))
    await _execute(
        harness.engine, "UPDATE idempotency_keys SET expires_at = now() WHERE key LIKE 'old-%'"
    )

    assert await purge_expired(harness.engine, batch_size=1) == 2
    assert await _scalar(harness.engine, "SELECT count(*) FROM idempotency_keys") == 1



async def test_the_statements_of_a_keyed_request_are_compiled_once_per_process(
    harness: Harness,
) -> None:
    """Statement CPU: from the second keyed request on, every statement of the unit of work
    (idempotency lock, lookup, the route's insert, the record's upsert) comes from SQLAlchemy's
    compiled cache; the ``ON CONFLICT`` upsert built with ``postgresql.insert()`` was not
    cacheable and was compiled on every request."""
    per_request: list[list[tuple[str, CacheStats]]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        per_request[-1].append((statement.split(" ", 1)[0], context.cache_hit))

    event.listen(harness.engine.sync_engine, "before_cursor_execute", record)
    try:
        token = harness.tokens.issue(sub="alice")
        async with harness.client() as client:
            for n in range(3):
                per_request.append([])
                response = await client.post("/things", json={"name": f"n{n}"},
                                             headers=_key(f"compiled-{n}", token))
                assert response.status_code == 201
    finally:
        event.remove(harness.engine.sync_engine, "before_cursor_execute", record)

    assert await harness.keys() == 3
    assert [verb for verb, _ in per_request[0]] == ["SELECT", "SELECT", "INSERT", "INSERT"]
    for later in per_request[1:]:
        assert [hit for _, hit in later] == [CacheStats.CACHE_HIT] * 4, later


async def test_keyed_requests_no_route_takes_are_neither_claimed_nor_stored(
    harness: Harness,
) -> None:
    async with harness.client() as client:
        for _ in range(2):  # the second answer comes from the middleware's memory
            missing = await client.post("/nothing-here", json={}, headers=_key("r-1"))
            wrong_method = await client.put("/things", json={"name": "a"}, headers=_key("r-2"))
            not_yet = await client.post("/later", json={}, headers=_key("r-3"))
            assert (missing.status_code, wrong_method.status_code, not_yet.status_code) == (
                404, 405, 404)
        assert await harness.keys() == 0

        @harness.app.post("/later", status_code=201)
        async def later() -> dict[str, str]:
            return {"added": "after the first requests"}

        first = await client.post("/later", json={}, headers=_key("r-3"))
        again = await client.post("/later", json={}, headers=_key("r-3"))

    assert first.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"  # a route added later is honoured
    assert await harness.keys() == 1
