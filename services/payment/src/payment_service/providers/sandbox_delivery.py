"""The sandbox's webhook sender, a job of the payment worker: posts each recorded decision
(:mod:`.sandbox_notifications`) as a signed webhook to the payment API, like a provider's
notification service (later than the button press, retried until answered, so possibly more
than once).

Each webhook is sent in its own transaction, holding its row ``FOR UPDATE`` while it is posted:
two workers never send the same webhook at once, and one that dies mid-send leaves it due. A 2xx
answer delivers it, a 4xx rejects it (it will not get better by retrying; logged); a 5xx or a
network error schedules another attempt, the wait doubling from ``backoff`` up to
``max_backoff``, and after ``attempts`` the sandbox gives up (the reconciliation job still
settles the payment). Each attempt is signed anew with the first active secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.unit_of_work import unit_of_work
from payment_service.payments.service import now_utc
from payment_service.providers.sandbox_notifications import SandboxNotification, claim_due
from payment_service.providers.signing import SIGNATURE_HEADER, signature_header
from payment_service.settings import PaymentSettings

__all__ = ["DeliveryPolicy", "WebhookSender", "deliver_due", "run_sandbox_delivery"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How often and how patiently a webhook is tried."""

    attempts: int = 15
    backoff: float = 1.0
    max_backoff: float = 60.0

    @classmethod
    def from_settings(cls, settings: PaymentSettings) -> DeliveryPolicy:
        return cls(settings.sandbox_webhook_attempts, settings.sandbox_webhook_backoff_seconds,
                   settings.sandbox_webhook_max_backoff_seconds)

    def wait(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt."""
        return timedelta(seconds=min(self.backoff * 2 ** (attempts - 1), self.max_backoff))


class WebhookSender:
    """Posts signed webhook bodies to ``url`` with ``http``, signing with ``secret``."""

    def __init__(self, url: str, secret: str, http: httpx.AsyncClient) -> None:
        self.url = url
        self.http = http
        self._secret = secret

    @classmethod
    def from_settings(cls, settings: PaymentSettings, http: httpx.AsyncClient) -> WebhookSender:
        """To ``settings.webhook_url``, signed with the first active secret."""
        return cls(settings.webhook_url,
                   settings.sandbox_webhook_secrets[0].get_secret_value(), http)

    async def post(self, body: dict[str, object]) -> int | None:
        """The HTTP status of the answer, or None if none came (network error)."""
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: signature_header(raw, [self._secret], int(time.time()))}
        try:
            response = await self.http.post(self.url, content=raw, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("sandbox webhook attempt failed", extra={"error": type(exc).__name__})
            return None
        return response.status_code


def _settle(row: SandboxNotification, status: int | None, policy: DeliveryPolicy,
            now: datetime) -> bool:
    """Record one attempt's answer on ``row``; True if it was delivered."""
    row.attempts += 1
    row.last_status = status
    if status is not None and status < 300:
        row.delivered_at = now
        row.due_at = None
        return True
    if status is not None and status < 500:
        log.warning("sandbox webhook rejected", extra={"status": status})
        row.due_at = None
    elif row.attempts >= policy.attempts:
        log.warning("sandbox webhook given up", extra={"attempts": row.attempts})
        row.due_at = None
    else:
        row.due_at = now + policy.wait(row.attempts)
    return False


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession], sender: WebhookSender, *,
    policy: DeliveryPolicy | None = None, now: datetime | None = None, limit: int = 100,
) -> int:
    """Send up to ``limit`` webhooks due at ``now`` (default: the current time), one
    transaction each; returns how many were delivered."""
    policy = policy or DeliveryPolicy()
    delivered = 0
    for _ in range(limit):
        async with unit_of_work(sessions) as session:
            row = await claim_due(session, now or now_utc())
            if row is None:
                break
            status = await sender.post(row.body())
            delivered += _settle(row, status, policy, now or now_utc())
    return delivered


async def run_sandbox_delivery(
    sessions: async_sessionmaker[AsyncSession], sender: WebhookSender, stop: asyncio.Event, *,
    policy: DeliveryPolicy, interval: float,
) -> None:
    """Run :func:`deliver_due` every ``interval`` seconds (at once again while there is more)
    until ``stop`` is set. A failed round (e.g. the database briefly away) is logged and tried
    again next round."""
    while not stop.is_set():
        busy = False
        try:
            busy = await deliver_due(sessions, sender, policy=policy) > 0
        except Exception as exc:
            log.error("sandbox webhook round failed", extra={"error": type(exc).__name__},
                      exc_info=exc)
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
