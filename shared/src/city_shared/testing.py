"""Test support every service uses (no pytest dependency): a service app running in-process,
the harness its tests drive it through, reading HTML pages like a browser, and events on a real
Kafka.

:func:`serve_in_process` starts the app's lifespan, optionally makes it trust a test
:class:`~city_shared.auth.testing.TokenFactory` instead of identity's JWKS, and yields an
``httpx.AsyncClient`` talking to it through ASGI; :func:`running_service` does so for a service's
``create_app(settings)``. :class:`ServiceHarness` is the base of each service's test harness (the
app, its client, its database; headers with test tokens, SQL reads, the outbox);
:func:`running_harness` starts one on a database for the duration of a block.
:func:`executed_statements` records the SQL a block executes (statement budgets).
:func:`html_forms` lists a page's forms with their fields and buttons (identity's login page,
payment's checkout page). :func:`publish` sends events as a relay would; :func:`consuming` runs a
service's subscriptions in a real :class:`~city_shared.consumer.Consumer` for the duration of a
block.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import EllipsisType
from typing import Any, ClassVar, Generic, TypeVar

import httpx
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from city_shared.auth import AdminLevel
from city_shared.auth.testing import TokenFactory
from city_shared.consumer import Consumer, ConsumerConfig, Subscription
from city_shared.db import create_engine, create_session_factory
from city_shared.deadletters import DeadLetterPublisher
from city_shared.envelope import Event, to_kafka
from city_shared.kafka_client import Brokers
from city_shared.relay import make_producer


@asynccontextmanager
async def serve_in_process(
    app: FastAPI, *, base_url: str, tokens: TokenFactory | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app`` (lifespan included) for the duration of the block."""
    async with app.router.lifespan_context(app):
        if tokens is not None:
            # Set after startup: the lifespan installs the real verifier.
            app.state.token_verifier = tokens.verifier()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


SettingsT = TypeVar("SettingsT")
HarnessT = TypeVar("HarnessT", bound="ServiceHarness[Any]")

#: The demo city's tenants and citizens, as every service's tests know them.
TENANT = "musterstadt"
OTHER_TENANT = "beispielhausen"
ERIKA = uuid.UUID("6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10")
MAX = uuid.UUID("0b7a4f7e-55e4-4c0c-9a57-3f3f0d1f2a21")


@asynccontextmanager
async def running_service(
    create_app: Callable[[SettingsT], FastAPI], settings: SettingsT, *, base_url: str,
    tokens: TokenFactory | None = None,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """``create_app(settings)`` running for the block (see :func:`serve_in_process`); yields
    the app and a client talking to it."""
    app = create_app(settings)
    async with serve_in_process(app, base_url=base_url, tokens=tokens) as client:
        yield app, client


@dataclass(frozen=True)
class OutboxRow:
    """One outbox row as written by a service."""

    topic: str
    key: str
    event_type: str
    attributes: dict[str, Any]
    data: dict[str, Any]


@dataclass
class ServiceHarness(Generic[SettingsT]):
    """A running service app on its own database, and the means to drive it: headers with
    tokens the app trusts, SQL reads over its engine and its outbox. A service's harness adds
    its own helpers; ``CLIENT_ID``/``CLIENT_SCOPE`` are its default machine client. The demo
    constants are class attributes, so test modules reach them through the fixture."""

    TENANT: ClassVar[str] = TENANT
    OTHER_TENANT: ClassVar[str] = OTHER_TENANT
    ERIKA: ClassVar[uuid.UUID] = ERIKA
    MAX: ClassVar[uuid.UUID] = MAX
    CLIENT_ID: ClassVar[str] = "test-client"
    CLIENT_SCOPE: ClassVar[str | None] = None

    app: FastAPI
    client: httpx.AsyncClient
    url: str
    tokens: TokenFactory
    engine: AsyncEngine
    settings: SettingsT

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return create_session_factory(self.engine)

    # -- tokens -------------------------------------------------------------------------------

    def bearer(self, sub: uuid.UUID | str | None = None, **claims: Any) -> dict[str, str]:
        """An ``Authorization`` header with a token of ``claims`` (subject ``sub``)."""
        if sub is not None:
            claims["sub"] = str(sub)
        return {"Authorization": f"Bearer {self.tokens.issue(**claims)}"}

    def citizen_headers(self, account_id: uuid.UUID | str = ERIKA, tenant: str = TENANT,
                        **claims: Any) -> dict[str, str]:
        return self.bearer(account_id, kind="citizen", tenant=tenant, **claims)

    def staff_headers(
        self, roles: Mapping[str, Iterable[str]] | None = None, *, tenant: str = TENANT,
        admin: AdminLevel | None = None, sub: str | None = None,
    ) -> dict[str, str]:
        """A staff member's token (a new one unless ``sub``) with ``roles`` by department."""
        return self.bearer(sub or str(uuid.uuid4()), kind="staff", roles=roles, admin=admin,
                           tenant=tenant)

    def client_headers(
        self, scope: str | EllipsisType | None = ..., client_id: str | None = None,
        tenant: str = TENANT,
    ) -> dict[str, str]:
        """A machine client's token (default: ``CLIENT_ID`` with ``CLIENT_SCOPE``)."""
        client_id = client_id or self.CLIENT_ID
        granted = self.CLIENT_SCOPE if isinstance(scope, EllipsisType) else scope
        return self.bearer(client_id, client_id=client_id, kind="client", scope=granted,
                           tenant=tenant)

    # -- database -----------------------------------------------------------------------------

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar_one()

    async def execute(self, sql: str, **params: Any) -> None:
        """Run ``sql`` in a committed transaction of its own."""
        async with self.engine.begin() as conn:
            await conn.execute(text(sql), params)

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())

    async def outbox(self, event_type: str | None = None) -> list[OutboxRow]:
        """The outbox rows in insertion order, optionally of one event type."""
        query = "SELECT topic, key, event_type, attributes, data FROM outbox"
        params: dict[str, str] = {}
        if event_type is not None:
            query += " WHERE event_type = :type"
            params["type"] = event_type
        rows = await self.rows(query + " ORDER BY id", **params)
        return [OutboxRow(r.topic, r.key, r.event_type, r.attributes, r.data) for r in rows]


@asynccontextmanager
async def running_harness(
    harness: type[HarnessT], create_app: Callable[[SettingsT], FastAPI], settings: SettingsT, *,
    url: str, tokens: TokenFactory, base_url: str,
    prepare: Callable[[AsyncEngine], Awaitable[None]] | None = None, **extra: Any,
) -> AsyncIterator[HarnessT]:
    """A ``harness`` of ``create_app(settings)`` running on the database at ``url`` and trusting
    ``tokens``; ``prepare(engine)`` runs before the app starts (demo data), ``extra`` are the
    harness's own fields. The engine is disposed of afterwards."""
    engine = create_engine(url, pool_size=5)
    try:
        if prepare is not None:
            await prepare(engine)
        async with running_service(create_app, settings, base_url=base_url,
                                   tokens=tokens) as (app, client):
            yield harness(app, client, url, tokens, engine, settings, **extra)
    finally:
        await engine.dispose()


def harness_starter(
    harness: type[HarnessT], create_app: Callable[[SettingsT], FastAPI],
    settings: Callable[..., SettingsT], *, url: str, tokens: TokenFactory, base_url: str,
    **fixed: Any,
) -> Callable[..., AbstractAsyncContextManager[HarnessT]]:
    """``start(**overrides)``, for ``async with start(...) as harness``: :func:`running_harness`
    with ``settings(**overrides)`` (a service's ``*_app`` fixture returns it)."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[HarnessT]:
        return running_harness(harness, create_app, settings(**overrides), url=url,
                               tokens=tokens, base_url=base_url, **fixed)

    return start


@dataclass
class HtmlForm:
    """A form of a page as a browser would submit it (buttons listed apart)."""

    action: str
    fields: dict[str, str]
    buttons: list[tuple[str, str]]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[HtmlForm] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(HtmlForm(values.get("action", ""), {}, []))
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "button" and self.forms and "name" in values:
            self.forms[-1].buttons.append((values["name"], values.get("value", "")))


def html_forms(html: str) -> list[HtmlForm]:
    """The forms of an HTML page with their fields and buttons."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


async def publish(kafka: Brokers, topic: str, events: Iterable[Event]) -> None:
    """Send ``events`` to ``topic`` in order, as a service's relay would (binary mode, record
    key = the event's subject)."""
    producer = make_producer(kafka)
    try:
        await producer.start()
        for event in events:
            message = to_kafka(event)
            await producer.send_and_wait(topic, value=message.value, key=event.subject.encode(),
                                         headers=list(message.headers.items()))
    finally:
        await producer.stop()


@asynccontextmanager
async def consuming(
    kafka: Brokers, sessions: async_sessionmaker[AsyncSession],
    subscriptions: Sequence[Subscription], *, dead_letter_topic: str,
    owned_topics: Iterable[str] = (), max_attempts: int = 2,
) -> AsyncIterator[asyncio.Task[None]]:
    """A consumer of ``subscriptions`` (a fresh group, quick retries) running for the block;
    yields its task, so a test can assert that it has not crashed. Stopped afterwards."""
    dead_letters = DeadLetterPublisher(dead_letter_topic, kafka)
    consumer = Consumer(
        ConsumerConfig(group_id=f"test-{uuid.uuid4().hex[:8]}",
                       kafka=kafka, dead_letter_topic=dead_letter_topic,
                       owned_topics=frozenset(owned_topics), max_attempts=max_attempts,
                       backoff_initial=0.05, backoff_max=0.1),
        sessions, subscriptions, dead_letters=dead_letters,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield task
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=30)
        finally:
            await dead_letters.close()


def start_refused(entry_point: str, env: Mapping[str, str]) -> str:
    """Run the console script ``entry_point`` of this environment with only ``env`` as its
    ``CITY_*`` settings (the caller's own ``CITY_*`` variables are dropped; ports are 0) and
    return everything it printed; raises ``AssertionError`` unless it exited non-zero with
    :class:`~city_shared.production.ProductionSettingsRefused`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CITY_")}
    clean.update(env, CITY_HTTP_PORT="0", CITY_WORKER_METRICS_PORT="0")
    script = Path(sys.executable).parent / entry_point
    result = subprocess.run([str(script)], env=clean, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode != 0, f"{entry_point} started in production mode"
    assert "ProductionSettingsRefused" in result.stderr, result.stderr[-2000:]
    return result.stderr + result.stdout


@contextmanager
def executed_statements() -> Iterator[list[str]]:
    """The SQL every engine of this process executes meanwhile, whitespace collapsed (one entry
    per execution; an ``executemany`` batch counts once, as it is one round trip): tests pin a
    request's statements with it, so an N+1 coming back fails a test, not a timing."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(" ".join(sql.split()))

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)
