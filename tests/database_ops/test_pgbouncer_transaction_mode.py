"""The APIs' database traffic through a real PgBouncer in transaction mode (docs/adr/0020).

Production puts a CloudNativePG Pooler (PgBouncer, ``poolMode: transaction``,
``max_prepared_statements``) between the API processes and PostgreSQL. Here a PgBouncer on
127.0.0.1 with those settings sits in front of the test server, and three engines from
``city_shared.db.create_engine`` (three API processes, asyncpg under SQLAlchemy, as the APIs
build them) run what a request does, concurrently, with far fewer server connections than
clients, so that consecutive transactions of one client land on different server connections:

- the idempotency claim, its stored response and its replay (``city_shared.idempotency``);
- a transaction-scoped advisory lock serialising a counter (no lost update);
- the same parameterised statements over and over (asyncpg prepares and caches them).

Negative control: the same workload with ``max_prepared_statements = 0`` (PgBouncer passing
prepared statements through, as before 1.21) fails with asyncpg's prepared-statement errors,
which is why the Pooler sets the parameter.

Needs PgBouncer >= 1.21 (see tests/database_ops/pgbouncer.py): skipped when it is missing on a
developer's machine, failed in CI (``CI`` set), where it must be installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.db import create_engine, create_session_factory
from city_shared.idempotency import Claimed, Identity, Stored, claim, store, stored_response
from tests.database_ops import pgbouncer

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = ROOT / "services" / "case" / "alembic.ini"  # any service: all have the backbone
PROCESSES = 3
CLIENTS_PER_PROCESS = 8
ROUNDS = 4
#: Server connections per PgBouncer pool: far fewer than the 24 clients, so every client's
#: transactions move between server connections.
SERVER_POOL = "2"

BINARY = pgbouncer.find()
MakeMigrated = Callable[[str | Path], Awaitable[str]]


@pytest.fixture
def bouncer_binary() -> Path:
    if BINARY is None:
        message = ("PgBouncer >= 1.21 not found (CITY_TEST_PGBOUNCER, .local/pgbouncer, PATH); "
                   "build it with tests/database_ops/build_pgbouncer.sh")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return BINARY


@pytest.fixture
def bouncer_dir(devstack_dir: Path) -> Path:
    """A directory of its own under the session's server directory, which the ``postgres``
    account can reach (pytest's tmp_path is private to root)."""
    return devstack_dir / f"pgbouncer-{uuid.uuid4().hex[:8]}"


async def client(sessions: async_sessionmaker[AsyncSession], scope: str) -> None:
    """One API client: claim a key and store a response, see it replayed from another
    transaction, and bump the shared counter under a transaction-scoped advisory lock."""
    for round_ in range(ROUNDS):
        ident = Identity(scope=scope, key=f"key-{round_}", request_hash=f"hash-{round_}")
        body = f'{{"scope": "{scope}", "round": {round_}}}'.encode()
        async with sessions() as session, session.begin():
            assert isinstance(await claim(session, ident), Claimed)
            await store(session, ident, stored_response(
                201, [(b"content-type", b"application/json")], body), ttl=timedelta(minutes=5))
        async with sessions() as session, session.begin():
            replayed = await claim(session, ident)
            assert isinstance(replayed, Stored)
            assert replayed.body == body
        async with sessions() as session, session.begin():
            await session.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            current = (await session.execute(text("SELECT n FROM pgbouncer_counter"))).scalar_one()
            await asyncio.sleep(0)  # let others try to interleave while the lock is held
            await session.execute(text("UPDATE pgbouncer_counter SET n = :n"), {"n": current + 1})


async def api_workload(url: str) -> int:
    """Three API processes' engines, their clients concurrently; returns the counter."""
    engines = [create_engine(url, pool_size=4) for _ in range(PROCESSES)]
    try:
        tasks = [asyncio.create_task(client(create_session_factory(engine), f"p{p}-c{c}"))
                 for p, engine in enumerate(engines) for c in range(CLIENTS_PER_PROCESS)]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in pending:  # the first failure ends the workload
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()
        async with engines[0].connect() as conn:
            return int((await conn.execute(text("SELECT n FROM pgbouncer_counter"))).scalar_one())
    finally:
        for engine in engines:
            await engine.dispose()


async def prepared_database(migrated_database: MakeMigrated) -> str:
    url = await migrated_database(ALEMBIC_INI)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE pgbouncer_counter (n integer NOT NULL)"))
            await conn.execute(text("INSERT INTO pgbouncer_counter VALUES (0)"))
    finally:
        await engine.dispose()
    return str(url)


def through(url: str, port: int) -> str:
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


@contextlib.contextmanager
def bouncer_in_front(binary: Path, directory: Path, url: str,
                     prepared_statements: int) -> Iterator[str]:
    """PgBouncer in transaction mode in front of ``url``'s server; yields the URL through it."""
    server = make_url(url)
    with pgbouncer.running(binary, directory,
                           server_host=str(server.host), server_port=int(server.port or 5432),
                           settings={"default_pool_size": SERVER_POOL,
                                     "max_prepared_statements": str(prepared_statements)}) as port:
        yield through(url, port)


async def test_api_traffic_works_through_pgbouncer_transaction_mode(
    bouncer_binary: Path, migrated_database: MakeMigrated, bouncer_dir: Path
) -> None:
    url = await prepared_database(migrated_database)
    with bouncer_in_front(bouncer_binary, bouncer_dir, url, prepared_statements=200) as pooled:
        counter = await api_workload(pooled)
    assert counter == PROCESSES * CLIENTS_PER_PROCESS * ROUNDS


async def test_without_prepared_statement_support_the_same_traffic_fails(
    bouncer_binary: Path, migrated_database: MakeMigrated, bouncer_dir: Path
) -> None:
    url = await prepared_database(migrated_database)
    with bouncer_in_front(bouncer_binary, bouncer_dir, url, prepared_statements=0) as pooled, \
            pytest.raises(DBAPIError, match="prepared statement") as raised:
        await api_workload(pooled)
    # asyncpg's own words: the statement it prepared on one server connection is missing on
    # (or clashes with another client's on) the one the next transaction got.
    assert "__asyncpg_stmt_" in str(raised.value)
