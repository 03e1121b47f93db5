"""pytest fixtures that run the real PostgreSQL, Kafka and SMTP servers for a test session.

Load with `pytest_plugins = ["devstack.pytest_plugin"]` (the root conftest.py does). Servers
start lazily, once per session, on free loopback ports under a temporary directory, and are
stopped at session end, on KeyboardInterrupt/SIGTERM (turned into KeyboardInterrupt) and at
interpreter exit. After a SIGKILL the broker dies with its parent and the next session reaps the
orphaned PostgreSQL (`devstack.sessions`). Kafka jars are cached in `<repo>/.local/cache/kafka`.

Fixtures:
- `postgres_server`: `PostgresServer`, or `DatabaseAdmin` on the server named by
  `CITY_TEST_DATABASE_ADMIN_URL` (`.controllable` tells which).
- `database_url`: function-scoped factory; `url = await database_url()` creates a fresh database
  and returns its `postgresql+asyncpg://` URL; every database it made is dropped at teardown.
- `migrated_database`: function-scoped factory; `url = await migrated_database(alembic_ini)`
  returns the URL of a fresh database holding the schema of that Alembic configuration at head.
  The first call per `alembic.ini` in the session migrates a template database
  (`database_templates`); every call copies it (`CREATE DATABASE ... TEMPLATE ...`), so a test
  pays for a copy, not for the migrations. Dropped at teardown like `database_url`'s; the
  templates are dropped at session end. Tests of the migrations themselves run them by hand.
- `migrated_url`: the URL of a `migrated_database` of the service whose tests ask, that is of the
  nearest `alembic.ini` above the test file (`services/<name>/alembic.ini`).
- `database_templates`: the session's `DatabaseTemplates`.
- `kafka_server`: `KafkaServer`, or `ExternalKafka` when `CITY_TEST_KAFKA_BOOTSTRAP` is set.
- `kafka_bootstrap`: the bootstrap servers string.
- `controllable_kafka`: the `KafkaServer`; skips the test when the broker is external, and
  starts the broker again at teardown if the test left it stopped.
- `smtp_server`: an `SmtpServer` whose `messages()` returns the mail received.
- `token_factory`: a `city_shared.auth.testing.TokenFactory` minting access tokens for tenant
  `musterstadt` (a service's test app trusts it through `city_shared.testing`).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
import shutil
import signal
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest
import pytest_asyncio

from city_shared.auth.testing import TokenFactory
from devstack import paths
from devstack.databases import DatabaseAdmin
from devstack.kafka import ExternalKafka, KafkaServer, ensure_kafka_jars
from devstack.ports import free_port, free_ports
from devstack.postgres import PostgresServer
from devstack.sessions import (
    KAFKA_SUBDIR,
    POSTGRES_SUBDIR,
    create_session_dir,
    reap_stale_sessions,
)
from devstack.smtp import SmtpServer
from devstack.templates import DatabaseTemplates

ENV_DATABASE_ADMIN_URL = "CITY_TEST_DATABASE_ADMIN_URL"
ENV_KAFKA_BOOTSTRAP = "CITY_TEST_KAFKA_BOOTSTRAP"

MakeDatabase = Callable[[], Awaitable[str]]
MakeMigratedDatabase = Callable[[str | Path], Awaitable[str]]

_live: dict[int, Callable[[], None]] = {}
_atexit_registered = False
_previous_sigterm: signal.Handlers | Callable[[int, FrameType | None], object] | int | None = None


def _kill_all() -> None:
    """Last resort at interpreter exit: kill whatever a fixture did not get to stop."""
    for kill in list(_live.values()):
        kill()
    _live.clear()


def _sigterm_to_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    global _atexit_registered, _previous_sigterm
    if not _atexit_registered:
        atexit.register(_kill_all)
        _atexit_registered = True
    if threading.current_thread() is threading.main_thread():
        current = signal.getsignal(signal.SIGTERM)
        if current is signal.SIG_DFL:
            _previous_sigterm = current
            signal.signal(signal.SIGTERM, _sigterm_to_keyboard_interrupt)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _previous_sigterm
    if _previous_sigterm is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _previous_sigterm)
        _previous_sigterm = None


@pytest.fixture(scope="session")
def devstack_dir() -> Iterator[Path]:
    """A session directory for server data; searchable by the `postgres` user, removed at end.

    Directories abandoned by killed sessions are reaped first.
    """
    reap_stale_sessions()
    root = create_session_dir()
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def postgres_server(devstack_dir: Path) -> AsyncIterator[PostgresServer | DatabaseAdmin]:
    admin_url = os.environ.get(ENV_DATABASE_ADMIN_URL)
    if admin_url:
        yield DatabaseAdmin(admin_url)
        return
    server = PostgresServer(devstack_dir / POSTGRES_SUBDIR, free_port(), fsync=False)
    _live[id(server)] = server.kill
    try:
        await server.start()
        yield server
    finally:
        try:
            await server.stop()
        finally:
            _live.pop(id(server), None)


def _database_name(test_name: str) -> str:
    stem = re.sub(r"[^a-z0-9_]+", "_", test_name.lower()).strip("_")[:40]
    return f"t_{stem}_{uuid.uuid4().hex[:8]}"


@pytest_asyncio.fixture(loop_scope="session")
async def database_url(
    request: pytest.FixtureRequest, postgres_server: PostgresServer | DatabaseAdmin
) -> AsyncIterator[MakeDatabase]:
    created: list[str] = []

    async def make_database() -> str:
        name = _database_name(request.node.name)
        url = await postgres_server.create_database(name)
        created.append(name)
        return url

    yield make_database
    for name in created:
        await postgres_server.drop_database(name)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def database_templates(
    postgres_server: PostgresServer | DatabaseAdmin,
) -> AsyncIterator[DatabaseTemplates]:
    templates = DatabaseTemplates(postgres_server)
    try:
        yield templates
    finally:
        await templates.drop_all()


@pytest_asyncio.fixture(loop_scope="session")
async def migrated_database(
    request: pytest.FixtureRequest,
    postgres_server: PostgresServer | DatabaseAdmin,
    database_templates: DatabaseTemplates,
) -> AsyncIterator[MakeMigratedDatabase]:
    created: list[str] = []

    async def make_database(alembic_ini: str | Path) -> str:
        name = _database_name(request.node.name)
        created.append(name)
        return await database_templates.clone(alembic_ini, name)

    yield make_database
    for name in created:
        await postgres_server.drop_database(name)


def _alembic_ini_above(test_file: Path) -> Path:
    for folder in test_file.parents:
        if (folder / "alembic.ini").is_file():
            return folder / "alembic.ini"
    raise pytest.UsageError(f"migrated_url: no alembic.ini above {test_file}")


@pytest_asyncio.fixture(loop_scope="session")
async def migrated_url(
    request: pytest.FixtureRequest, migrated_database: MakeMigratedDatabase
) -> str:
    """A fresh database of its own for the test, at head of its service's migrations (a copy
    of the session's migrated template)."""
    return await migrated_database(_alembic_ini_above(request.path))


@pytest.fixture
def token_factory() -> TokenFactory:
    """Mints access tokens (tenant ``musterstadt`` unless told otherwise)."""
    return TokenFactory(tenant="musterstadt")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka_server(devstack_dir: Path) -> AsyncIterator[KafkaServer | ExternalKafka]:
    bootstrap = os.environ.get(ENV_KAFKA_BOOTSTRAP)
    if bootstrap:
        yield ExternalKafka(bootstrap)
        return
    jars = await asyncio.to_thread(ensure_kafka_jars, paths.local_dir() / "cache" / "kafka")
    port, controller_port = free_ports(2)
    server = KafkaServer(devstack_dir / KAFKA_SUBDIR, port, controller_port, jars)
    _live[id(server)] = server.kill
    try:
        await server.start()
        yield server
    finally:
        try:
            await server.stop()
        finally:
            _live.pop(id(server), None)


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_server: KafkaServer | ExternalKafka) -> str:
    return kafka_server.bootstrap_servers


@pytest_asyncio.fixture(loop_scope="session")
async def controllable_kafka(
    kafka_server: KafkaServer | ExternalKafka,
) -> AsyncIterator[KafkaServer]:
    if not isinstance(kafka_server, KafkaServer):
        pytest.skip(f"{ENV_KAFKA_BOOTSTRAP} is set: the external broker cannot be stopped")
    yield kafka_server
    await kafka_server.start()  # a no-op unless the test left the broker stopped


@pytest.fixture(scope="session")
def smtp_server(devstack_dir: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(devstack_dir / "mail", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
