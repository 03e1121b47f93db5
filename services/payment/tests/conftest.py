"""Shared fixtures of the payment tests: a migrated database, the app running on it, tokens the
app trusts, and helpers to create payments and send provider webhooks.

``migrated_url`` and ``token_factory`` come from the devstack plugin, the harness base
(:class:`~city_shared.testing.ServiceHarness`) from ``city_shared.testing``.

- ``payment_settings(url, **overrides)``: :class:`PaymentSettings` for tests (public base URL
  ``http://payment.test``, webhook secrets :data:`SECRET` then :data:`OLD_SECRET`).
- ``payments``: a :class:`PaymentHarness` on ``migrated_url`` with default settings;
  ``payments_app(**overrides)``: ``async with`` one with other settings.

The harness makes headers (``client_headers``, ``citizen_headers``, ``staff_headers``),
creates payments (``create``), signs and sends webhooks (``send_webhook``), runs the worker's
sandbox webhook job (``deliver_webhooks``, to this app in-process) and reconciliation job
(``reconcile``), and reads the outbox, the history and the rows.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from city_shared.auth.testing import TokenFactory
from city_shared.deadletters import list_dead_letters
from city_shared.envelope import Event
from city_shared.testing import (
    ERIKA,
    ServiceHarness,
    consuming,
    harness_starter,
    html_forms,
    publish,
)
from payment_service.main import create_app
from payment_service.payments import outcomes
from payment_service.payments.reconciliation import reconcile_waiting
from payment_service.providers.registry import Providers
from payment_service.providers.sandbox import SandboxProvider
from payment_service.providers.sandbox_delivery import WebhookSender, deliver_due
from payment_service.providers.signing import SIGNATURE_HEADER, signature_header
from payment_service.settings import PaymentSettings
from payment_service.subscriptions import build_subscriptions
from payment_service.topics import REQUESTS

BASE_URL = "http://payment.test"
SECRET = "test-webhook-secret-current-0001"
OLD_SECRET = "test-webhook-secret-previous-002"
RETURN_URL = "https://tickets.example.org/orders/7f3c"
DEAD_LETTERS = "payment.deadletters"


def payment_settings(url: str, **overrides: Any) -> PaymentSettings:
    """Settings for a test app on ``url``."""
    values: dict[str, Any] = {
        "database_url": url, "log_json": False, "public_base_url": BASE_URL,
        "payment_return_url_origins": "https://tickets.example.org",
        "sandbox_webhook_secrets": [SECRET, OLD_SECRET], "database_pool_size": 10,
        **overrides,
    }
    return PaymentSettings(**values)


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


@dataclass
class PaymentHarness(ServiceHarness[PaymentSettings]):
    """A running payment app on its own database, and the means to drive it. The module's
    helpers and constants are reachable through it (test modules cannot import conftest)."""

    BASE_URL = BASE_URL
    SECRET = SECRET
    OLD_SECRET = OLD_SECRET
    CLIENT_ID = "ticketing-service"
    CLIENT_SCOPE = "payment:write payment:read"
    RETURN_URL = RETURN_URL
    body = staticmethod(payment_body)
    line_item = staticmethod(line_item)
    notification = staticmethod(notification)
    forms = staticmethod(html_forms)

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

    async def run_requests(self, kafka_bootstrap: str, events: Sequence[Event], *,
                           handled: tuple[Event, Event], rejected: Event) -> None:
        """Publish ``events`` on ``payment.requests`` and run the worker's consumer until both
        ``handled`` are in its inbox and ``rejected`` is dead-lettered; asserts both."""
        await publish(kafka_bootstrap, REQUESTS, events)
        subscriptions = build_subscriptions(self.settings, self.providers)
        async with consuming(kafka_bootstrap, self.sessions, subscriptions,
                             dead_letter_topic=DEAD_LETTERS, owned_topics={REQUESTS}) as task:
            count = 0
            letters: list[Any] = []
            for _ in range(200):
                count = await self.scalar(
                    "SELECT count(*) FROM inbox WHERE event_id IN (:a, :b)",
                    a=handled[0].id, b=handled[1].id)
                letters = [d for d in await list_dead_letters(kafka_bootstrap, DEAD_LETTERS)
                           if d.event_id == str(rejected.id)]
                if count == 2 and letters:
                    break
                assert not task.done(), task
                await asyncio.sleep(0.2)
            assert count == 2
            assert [d.reason for d in letters] == ["rejected"]


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

    return harness_starter(PaymentHarness, create_app, partial(payment_settings, migrated_url),
                           url=migrated_url, tokens=token_factory, base_url=BASE_URL)


@pytest.fixture
async def payments(payments_app: Any) -> AsyncIterator[PaymentHarness]:
    """The app with default test settings."""
    async with payments_app() as harness:
        yield harness
