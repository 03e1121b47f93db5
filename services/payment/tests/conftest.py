"""Shared fixtures of the payment tests: a migrated database, the app running on it, tokens the
app trusts, and helpers to create payments and send provider webhooks.

- ``migrated_url``: a fresh PostgreSQL database migrated to head; its URL.
- ``token_factory``: a :class:`TokenFactory` for tenant ``musterstadt``.
- ``payment_settings(url, **overrides)``: :class:`PaymentSettings` for tests (public base URL
  ``http://payment.test``, webhook secrets :data:`SECRET` then :data:`OLD_SECRET`).
- ``running_app(settings, tokens)``: async context manager starting ``create_app`` with its
  lifespan, yielding ``(app, client)``; the app trusts ``tokens``.
- ``payments``: a :class:`PaymentHarness` on ``migrated_url`` with default settings;
  ``payments_app(**overrides)``: ``async with`` one with other settings.

The harness makes headers (``client_headers``, ``citizen_headers``, ``staff_headers``),
creates payments (``create``), signs and sends webhooks (``send_webhook``), runs the worker's
sandbox webhook job (``deliver_webhooks``, to this app in-process) and reconciliation job
(``reconcile``), and reads the outbox, the history and the rows.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from city_shared.auth import AdminLevel
from city_shared.auth.testing import TokenFactory
from city_shared.db import create_engine, create_session_factory
from city_shared.testing import html_forms, serve_in_process
from devstack.pytest_plugin import MakeMigratedDatabase
from payment_service.main import create_app
from payment_service.payments import outcomes
from payment_service.payments.reconciliation import reconcile_waiting
from payment_service.providers.registry import Providers
from payment_service.providers.sandbox import SandboxProvider
from payment_service.providers.sandbox_delivery import WebhookSender, deliver_due
from payment_service.providers.signing import SIGNATURE_HEADER, signature_header
from payment_service.settings import PaymentSettings

ALEMBIC_INI = str(Path(__file__).resolve().parents[1] / "alembic.ini")
BASE_URL = "http://payment.test"
TENANT = "musterstadt"
OTHER_TENANT = "beispielhausen"
SECRET = "test-webhook-secret-current-0001"
OLD_SECRET = "test-webhook-secret-previous-002"
ERIKA = uuid.UUID("6f1c0c52-3f0e-4a55-9d0e-2b7c1f6b8a10")
MAX = uuid.UUID("0b7a4f7e-55e4-4c0c-9a57-3f3f0d1f2a21")
RETURN_URL = "https://tickets.example.org/orders/7f3c"


@pytest.fixture
async def migrated_url(migrated_database: MakeMigratedDatabase) -> str:
    """A fresh database of its own for the test, at head (a copy of the session's migrated
    template)."""
    return await migrated_database(ALEMBIC_INI)


@pytest.fixture
def token_factory() -> TokenFactory:
    """Mints access tokens (tenant ``musterstadt`` unless told otherwise)."""
    return TokenFactory(tenant=TENANT)


def payment_settings(url: str, **overrides: Any) -> PaymentSettings:
    """Settings for a test app on ``url``."""
    values: dict[str, Any] = {
        "database_url": url, "log_json": False, "public_base_url": BASE_URL,
        "payment_return_url_origins": "https://tickets.example.org",
        "sandbox_webhook_secrets": [SECRET, OLD_SECRET], "database_pool_size": 10,
        **overrides,
    }
    return PaymentSettings(**values)


@asynccontextmanager
async def running_app(
    settings: PaymentSettings, tokens: TokenFactory
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The payment app with its lifespan started, trusting ``tokens``."""
    app = create_app(settings)
    async with serve_in_process(app, base_url=BASE_URL, tokens=tokens) as client:
        yield app, client


def line_item(department: str = "museum", amount: int = 800, **overrides: Any) -> dict[str, Any]:
    """A line item body (the demo city's cost centres)."""
    centres = {"museum": "MUS-4100", "pools": "BAD-5700", "citizens-office": "BB-1100"}
    return {"department": department, "cost_centre": centres.get(department, "X-1"),
            "description": f"Ticket {department}", "amount": amount, **overrides}


def payment_body(reference: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid ``POST /payments`` body: 13.00 EUR, museum 8.00 + pools 5.00, payer Erika."""
    body: dict[str, Any] = {
        "amount": 1300,
        "currency": "EUR",
        "description": "Stadtmuseum und Hallenbad",
        "reference": reference or f"ticketing/order/{uuid.uuid4().hex[:12]}",
        "return_url": RETURN_URL,
        "metadata": {"order_id": "7f3c"},
        "line_items": [line_item("museum", 800), line_item("pools", 500)],
        "payer": {"account_id": str(ERIKA), "email": "erika@example.org",
                  "name": "Erika Mustermann"},
    }
    body.update(overrides)
    return body


def notification(
    kind: str, provider_payment_id: str, *, amount: int = 1300, notification_id: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """A sandbox webhook body."""
    data: dict[str, Any] = {"provider_payment_id": provider_payment_id, "amount": amount,
                            "currency": "EUR"}
    if reason is not None:
        data["reason"] = reason
    return {"id": notification_id or f"evt_{uuid.uuid4().hex}", "type": kind,
            "created": int(time.time()), "data": data}


@dataclass(frozen=True)
class OutboxRow:
    """One outbox row as written by the service."""

    topic: str
    key: str
    event_type: str
    attributes: dict[str, Any]
    data: dict[str, Any]


@dataclass
class PaymentHarness:
    """A running payment app on its own database, and the means to drive it. The module's
    helpers and constants are reachable through it (test modules cannot import conftest)."""

    BASE_URL = BASE_URL
    TENANT = TENANT
    OTHER_TENANT = OTHER_TENANT
    SECRET = SECRET
    OLD_SECRET = OLD_SECRET
    ERIKA = ERIKA
    MAX = MAX
    RETURN_URL = RETURN_URL
    body = staticmethod(payment_body)
    line_item = staticmethod(line_item)
    notification = staticmethod(notification)
    forms = staticmethod(html_forms)

    app: FastAPI
    client: httpx.AsyncClient
    url: str
    tokens: TokenFactory
    engine: AsyncEngine
    settings: PaymentSettings

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return create_session_factory(self.engine)

    @property
    def providers(self) -> Providers:
        providers: Providers = self.app.state.providers
        return providers

    def webhook_sender(self, http: httpx.AsyncClient | None = None) -> WebhookSender:
        """The worker's sandbox webhook sender, posting to this app (or through ``http``)."""
        return WebhookSender.from_settings(self.settings, http or self.client)

    async def deliver_webhooks(self, *, now: datetime | None = None,
                               http: httpx.AsyncClient | None = None) -> int:
        """One round of the worker's sandbox webhook job; how many were delivered."""
        return await deliver_due(self.sessions, self.webhook_sender(http), now=now)

    async def reconcile(self, *, now: datetime | None = None,
                        providers: Providers | None = None) -> int:
        """One round of the worker's reconciliation job; how many outcomes it applied."""
        after = timedelta(seconds=self.settings.reconciliation_after_seconds)
        return await reconcile_waiting(self.sessions, providers or self.providers, after=after,
                                       now=now)

    @property
    def sandbox(self) -> SandboxProvider:
        provider = self.app.state.providers.get("sandbox")
        assert isinstance(provider, SandboxProvider)
        return provider

    def bearer(self, **claims: Any) -> dict[str, str]:
        """An ``Authorization`` header with a token of ``claims``."""
        return {"Authorization": f"Bearer {self.tokens.issue(**claims)}"}

    def client_headers(
        self, scope: str | None = "payment:write payment:read",
        client_id: str = "ticketing-service", tenant: str = TENANT,
    ) -> dict[str, str]:
        """A machine client's token (default: ticketing, read and write)."""
        return self.bearer(sub=client_id, client_id=client_id, kind="client", scope=scope,
                           tenant=tenant)

    def citizen_headers(self, account_id: uuid.UUID = ERIKA,
                        tenant: str = TENANT) -> dict[str, str]:
        return self.bearer(sub=str(account_id), kind="citizen", tenant=tenant)

    def staff_headers(
        self, roles: Mapping[str, Iterable[str]] | None = None, *, tenant: str = TENANT,
        admin: AdminLevel | None = None, sub: str | None = None,
    ) -> dict[str, str]:
        return self.bearer(sub=sub or str(uuid.uuid4()), kind="staff", roles=roles,
                           admin=admin, tenant=tenant)

    async def create(
        self, body: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None,
        key: str | None = None, expect: int | None = 201,
    ) -> dict[str, Any]:
        """``POST /payments`` (default body and ticketing client); asserts ``expect``."""
        response = await self.client.post(
            "/payments", json=body or payment_body(),
            headers={**(headers or self.client_headers()),
                     "Idempotency-Key": key or str(uuid.uuid4())},
        )
        if expect is not None:
            assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result

    async def get(self, payment_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.get(f"/payments/{payment_id}",
                                     headers=headers or self.client_headers())

    def sign(self, body: bytes, *, secret: str = SECRET,
             timestamp: int | None = None) -> dict[str, str]:
        """Headers of a webhook signed like the sandbox does."""
        stamp = int(time.time()) if timestamp is None else timestamp
        return {"Content-Type": "application/json",
                SIGNATURE_HEADER: signature_header(body, [secret], stamp)}

    async def send_webhook(
        self, notification: dict[str, Any] | bytes, *, secret: str = SECRET,
        timestamp: int | None = None, headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST a notification to the sandbox webhook endpoint, signed unless ``headers``."""
        body = (notification if isinstance(notification, bytes)
                else json.dumps(notification).encode())
        sent = headers if headers is not None else self.sign(body, secret=secret,
                                                             timestamp=timestamp)
        return await self.client.post("/providers/sandbox/webhooks", content=body, headers=sent)

    async def outbox(self, event_type: str | None = None) -> list[OutboxRow]:
        """The outbox rows in insertion order, optionally of one event type."""
        query = "SELECT topic, key, event_type, attributes, data FROM outbox"
        params: dict[str, str] = {}
        if event_type is not None:
            query += " WHERE event_type = :type"
            params["type"] = event_type
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(query + " ORDER BY id"), params)).all()
        return [OutboxRow(r.topic, r.key, r.event_type, r.attributes, r.data) for r in rows]

    async def events_of(self, payment_id: str) -> list[str]:
        """The outbox event types about one payment, in order."""
        return [r.event_type for r in await self.outbox() if r.key == str(payment_id)]

    async def row(self, payment_id: str) -> Any:
        """The ``payments`` row."""
        async with self.engine.connect() as conn:
            return (await conn.execute(text("SELECT * FROM payments WHERE id = :id"),
                                       {"id": payment_id})).one()

    async def history(self, payment_id: str) -> list[tuple[str, str, str | None]]:
        """``(event_type, status, reason)`` of each history entry, oldest first."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT event_type, status, reason FROM payment_history "
                "WHERE payment_id = :id ORDER BY id"), {"id": payment_id})).all()
        return [(r.event_type, r.status, r.reason) for r in rows]

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar_one()


@pytest.fixture
def refund_requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, str, str]]:
    """Every refund the payments slice requests, as ``(payment id, amount, reason,
    requested_by)``; the refunds slice's ``request_refund`` still runs."""
    calls: list[tuple[str, int, str, str]] = []
    original = outcomes.request_refund

    async def spy(session: Any, payment: Any, amount: int, *, reason: str,
                  requested_by: str) -> Any:
        calls.append((str(payment.id), amount, reason, requested_by))
        return await original(session, payment, amount, reason=reason,
                              requested_by=requested_by)

    monkeypatch.setattr(outcomes, "request_refund", spy)
    return calls


@pytest.fixture
def payments_app(migrated_url: str, token_factory: TokenFactory) -> Any:
    """``async with payments_app(**settings) as harness``: the app with other settings."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[PaymentHarness]:
        settings = payment_settings(migrated_url, **overrides)
        engine = create_engine(migrated_url, pool_size=5)
        try:
            async with running_app(settings, token_factory) as (app, client):
                yield PaymentHarness(app, client, migrated_url, token_factory, engine, settings)
        finally:
            await engine.dispose()

    return start


@pytest.fixture
async def payments(payments_app: Any) -> AsyncIterator[PaymentHarness]:
    """The app with default test settings."""
    async with payments_app() as harness:
        yield harness
