"""Shared fixtures of the notification tests: a migrated database, the app running on it,
tokens the app trusts, the real SMTP sink, and helpers to feed events and run the delivery job.

``migrated_url`` and ``token_factory`` come from the devstack plugin, the harness base
(:class:`~city_shared.testing.ServiceHarness`: headers, ``scalar``/``rows``/``outbox``) from
``city_shared.testing``.

- ``notify``: a :class:`NotificationHarness` on ``migrated_url`` (demo templates and rules
  seeded for both tenants); ``notify_app(**settings)``: ``async with`` one with other settings.

The harness makes headers, builds events like ticketing and identity publish them, runs
handlers the way the shared consumer does (one transaction each), runs delivery rounds against
an SMTP server, and reads mail, rows and the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from city_shared.auth.testing import TokenFactory
from city_shared.consumer import Handler, Routes
from city_shared.db import create_session_factory
from city_shared.envelope import Event
from city_shared.testing import TENANT, ServiceHarness, running_harness
from city_shared.unit_of_work import unit_of_work
from devstack.smtp import SmtpServer
from notification_service.channels.email import SmtpSender
from notification_service.channels.sms import SandboxSmsProvider
from notification_service.deliveries.sending import Channels, DeliveryConfig, deliver_due
from notification_service.main import create_app
from notification_service.seed import DEMO_TENANTS, seed_tenant
from notification_service.settings import NotificationSettings
from notification_service.subscriptions import build_subscriptions
from notification_service.worker import document_fetcher

BASE_URL = "http://notification.test"
CONFIRMED = "city.ticketing.order.confirmed.v1"
CANCELLED = "city.ticketing.order.cancelled.v1"
EXPIRED = "city.ticketing.order.expired.v1"
REFUNDED = "city.ticketing.order.refunded.v1"
REQUEST = "city.notification.request.v1"
CLOSED_PORT = 9  # discard: nothing listens there on the test machines


def notification_settings(url: str, smtp: SmtpServer | None = None,
                          **overrides: Any) -> NotificationSettings:
    values: dict[str, Any] = {
        "database_url": url, "log_json": False, "database_pool_size": 5,
        "delivery_backoff_initial_seconds": 60.0, "delivery_max_attempts": 3,
        **({"smtp_host": smtp.host, "smtp_port": smtp.port} if smtp else {}),
        **overrides,
    }
    return NotificationSettings(**values)


def ticket(code: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A ticket as ``order.confirmed`` carries it."""
    code = code or f"MUS-{uuid.uuid4().hex[:6].upper()}"
    return {"ticket_id": str(uuid.uuid4()), "code": code, "department": "museum",
            "offering_name": "Dauerausstellung", "ticket_type_name": "Erwachsene",
            "starts_at": "2026-03-12T09:30:00+00:00", "ends_at": "2026-03-12T10:00:00+00:00",
            "valid_until": "2026-03-12T17:00:00+00:00", "visits": 1,
            "qr_payload": f"CT1.{code}.signature-{uuid.uuid4().hex}",
            "page_url": f"https://tickets.musterstadt.example/t/{code}", **overrides}


def new_address(name: str = "erika") -> str:
    """A unique address (the SMTP sink is shared by the whole test session)."""
    return f"{name}-{uuid.uuid4().hex[:10]}@example.org"


async def seed_demo(engine: AsyncEngine) -> None:
    """The demo templates and rules of both demo tenants."""
    async with unit_of_work(create_session_factory(engine)) as session:
        for tenant in DEMO_TENANTS:
            await seed_tenant(session, tenant)


@dataclass
class NotificationHarness(ServiceHarness[NotificationSettings]):
    """A running notification app on its own database, and the means to drive it."""

    CLIENT_ID = "case-service"
    CLIENT_SCOPE = "notification:send"
    CONFIRMED = CONFIRMED
    CANCELLED = CANCELLED
    EXPIRED = EXPIRED
    REFUNDED = REFUNDED
    REQUEST = REQUEST
    CLOSED_PORT = CLOSED_PORT
    ticket = staticmethod(ticket)
    new_address = staticmethod(new_address)

    smtp: SmtpServer

    # -- tokens -------------------------------------------------------------------------------

    def admin_headers(self, tenant: str = TENANT) -> dict[str, str]:
        return self.bearer(sub=str(uuid.uuid4()), kind="staff", admin="tenant", tenant=tenant)

    # -- events -------------------------------------------------------------------------------

    def event(self, type_: str, data: dict[str, Any], *, tenant: str = TENANT,
              department: str | None = None, source: str = "/ticketing",
              subject: str | None = None) -> Event:
        return Event(type=type_, source=source, subject=subject or str(uuid.uuid4()),
                     time=datetime.now(UTC), tenant=tenant, department=department,
                     correlationid=str(uuid.uuid4()), data=data)

    def order_event(self, type_: str = CONFIRMED, *, account_id: uuid.UUID,
                    email: str | None = None, locale: str | None = "de",
                    tickets: list[dict[str, Any]] | None = None, tenant: str = TENANT,
                    department: str | None = "museum", **extra: Any) -> Event:
        """An order event as ticketing publishes it."""
        order_id = str(uuid.uuid4())
        recipient: dict[str, Any] = {"account_id": str(account_id)}
        if email is not None:
            recipient["email"] = email
        if locale is not None:
            recipient["locale"] = locale
        data: dict[str, Any] = {
            "order_id": order_id, "tenant": tenant, "account_id": str(account_id),
            "status": "confirmed", "total": 1300, "currency": "EUR", "recipient": recipient,
            **extra,
        }
        if type_ == CONFIRMED:
            data["tickets"] = tickets if tickets is not None else [ticket(), ticket()]
        return self.event(type_, data, tenant=tenant, department=department, subject=order_id)

    def handler(self, event_type: str, topic: str = "ticketing.orders") -> Handler:
        """The worker's handler for ``event_type``: its own subscription on any topic, else
        the one for every type on ``topic``."""
        subscriptions = build_subscriptions(self.settings)
        for sub in subscriptions:
            if sub.event_type == event_type:
                return sub.handler
        found = Routes(subscriptions).handler_for(topic, event_type)
        if found is None:
            raise KeyError(event_type)
        return found

    async def handle(self, event: Event) -> None:
        """Run the worker's handler in one transaction, as the consumer does (without its
        inbox: a second call shows the service's own idempotency)."""
        async with unit_of_work(self.sessions) as session:
            await self.handler(event.type)(session, event)

    # -- sending ------------------------------------------------------------------------------

    def channels(self, smtp_port: int | None = None) -> Channels:
        return Channels(
            email=SmtpSender(self.smtp.host, smtp_port or self.smtp.port,
                             self.settings.smtp_from,
                             message_id_domain=self.settings.message_id_domain, timeout=5),
            sms=SandboxSmsProvider(self.sessions), documents=document_fetcher(self.settings))

    async def deliver(self, *, smtp_port: int | None = None,
                      now: datetime | None = None) -> dict[str, int]:
        """One round of the delivery job."""
        return await deliver_due(self.sessions, self.channels(smtp_port),
                                 DeliveryConfig.from_settings(self.settings), now=now)

    def mails_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.smtp.messages() if m["To"] == address]

    # -- reading ------------------------------------------------------------------------------

    async def deliveries(self, source_event_id: uuid.UUID | None = None) -> list[Any]:
        """``(channel, status, reason, attempts, address, id)`` of deliveries, by channel."""
        rows = await self.rows(
            "SELECT d.channel, d.status, d.reason, d.attempts, d.address, d.id, "
            "d.next_attempt_at, m.template_version, m.source_event_id FROM deliveries d "
            "JOIN messages m ON m.id = d.message_id ORDER BY d.channel, d.created_at")
        return [r for r in rows if source_event_id is None or r.source_event_id == source_event_id]

    async def inbox(self, account_id: uuid.UUID, tenant: str = TENANT) -> httpx.Response:
        return await self.client.get("/inbox", headers=self.citizen_headers(account_id, tenant))


@pytest.fixture
def notify_app(migrated_url: str, token_factory: TokenFactory, smtp_server: SmtpServer) -> Any:
    """``async with notify_app(**settings) as harness``: the app with other settings."""

    @asynccontextmanager
    async def start(*, seed: bool = True, **overrides: Any) -> AsyncIterator[NotificationHarness]:
        async with running_harness(
            NotificationHarness, create_app,
            notification_settings(migrated_url, smtp_server, **overrides),
            url=migrated_url, tokens=token_factory, base_url=BASE_URL,
            prepare=seed_demo if seed else None, smtp=smtp_server,
        ) as harness:
            yield harness

    return start


@pytest.fixture
async def notify(notify_app: Any) -> AsyncIterator[NotificationHarness]:
    async with notify_app() as harness:
        yield harness
