"""The delivery job: claims due deliveries, sends them outside any transaction, settles them.

One round (:func:`deliver_due`):

Each step is a unit of work of its own (:func:`city_shared.unit_of_work.unit_of_work`); the
:class:`~notification_service.deliveries.models.Delivery` decides each transition and records
its event, which the unit of work writes to the outbox when it commits.

1. **Claim** (one short transaction): up to ``batch_size`` deliveries that are ``created`` or
   ``temporary_failure`` and due, or ``sending`` with an expired lease, are locked with
   ``FOR UPDATE SKIP LOCKED`` (so several workers never claim the same one), set to
   ``sending`` with ``attempts + 1`` and a lease (``next_attempt_at`` = now + lease), and
   committed. A delivery already at ``max_attempts`` becomes ``permanent_failure`` instead.
2. **Send** each claimed delivery with no transaction open (a slow SMTP server holds no locks).
3. **Settle** (one transaction per delivery): ``delivered`` (the inbox message is filed in
   this same transaction), ``temporary_failure`` with exponential backoff
   (``initial * 2^(attempts-1)``, capped), or ``permanent_failure`` (a permanent error, or the
   last attempt failed), each with its event in the outbox.

A crash never loses a message: a claimed delivery whose worker died stays ``sending`` until
its lease ends and is then claimed again. The price is **at least once** for external
channels: a crash (or a lost database connection) after the SMTP server answered 250 and before
the delivery was marked ``delivered`` sends the e-mail a second time when the lease ends. Both
copies carry the same ``Message-ID`` (``<delivery id@domain>``), so mail clients and the
receiving side can recognise the duplicate. The inbox channel has no such edge: filing and
settling are one transaction, and the inbox message is unique per delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.journey import resume
from city_shared.unit_of_work import unit_of_work
from notification_service.channels.base import PermanentSendError, SendError
from notification_service.channels.documents import DocumentFetcher
from notification_service.channels.email import EmailSender, OutgoingEmail
from notification_service.channels.qr import ticket_attachments
from notification_service.channels.sms import SmsProvider
from notification_service.deliveries.metrics import count_failed
from notification_service.deliveries.models import Delivery, Message
from notification_service.inbox import service as inbox
from notification_service.settings import NotificationSettings

__all__ = ["Channels", "DeliveryConfig", "deliver_due", "run_delivery_job"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryConfig:
    """Batch size, attempts, backoff and lease of the delivery job."""

    batch_size: int = 50
    max_attempts: int = 6
    backoff_initial: float = 30.0
    backoff_max: float = 3600.0
    lease: float = 300.0

    @classmethod
    def from_settings(cls, settings: NotificationSettings) -> DeliveryConfig:
        return cls(batch_size=settings.delivery_batch_size,
                   max_attempts=settings.delivery_max_attempts,
                   backoff_initial=settings.delivery_backoff_initial_seconds,
                   backoff_max=settings.delivery_backoff_max_seconds,
                   lease=settings.delivery_lease_seconds)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt."""
        seconds = self.backoff_initial * 2 ** max(attempts - 1, 0)
        return timedelta(seconds=min(seconds, self.backoff_max))


@dataclass(frozen=True)
class Channels:
    """The adapters the job sends through; ``documents`` fetches the documents e-mails attach
    (default: none allowed)."""

    email: EmailSender
    sms: SmsProvider
    documents: DocumentFetcher = field(default_factory=DocumentFetcher)


@dataclass(frozen=True)
class _Claimed:
    """What sending needs, copied out of the claim transaction."""

    delivery_id: uuid.UUID
    tenant: str
    channel: str
    address: str | None
    content: dict[str, Any]
    locale: str
    params: dict[str, Any]


async def _claim(
    sessions: async_sessionmaker[AsyncSession], config: DeliveryConfig, now: datetime
) -> list[_Claimed]:
    claimed: list[_Claimed] = []
    async with unit_of_work(sessions) as session:
        due = (await session.execute(
            select(Delivery)
            .where(Delivery.status.in_(("created", "sending", "temporary_failure")),
                   Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at)
            .limit(config.batch_size)
            .with_for_update(skip_locked=True, of=Delivery)
        )).scalars().all()
        for delivery in due:
            message = delivery.message
            with resume("notification delivery", message.journey):
                taken = delivery.claim(now, lease_until=now + timedelta(seconds=config.lease),
                                       max_attempts=config.max_attempts)
            if not taken:
                count_failed(delivery.tenant, delivery.channel, delivery.reason)
                continue
            assert delivery.content is not None
            claimed.append(_Claimed(delivery.id, delivery.tenant, delivery.channel,
                                    delivery.address, dict(delivery.content), message.locale,
                                    dict(message.params)))
    return claimed


async def _send(claimed: _Claimed, channels: Channels) -> None:
    """Hand the delivery to its channel; the inbox is filed when settling. An e-mail's
    attachments (tickets' QR codes, documents fetched now) are made at each attempt."""
    content = claimed.content
    if claimed.channel == "email":
        assert claimed.address is not None
        attachments = [*ticket_attachments(claimed.params),
                       *await channels.documents.attachments(claimed.params)]
        await channels.email.send(OutgoingEmail(
            delivery_id=claimed.delivery_id, to=claimed.address,
            subject=str(content.get("subject", "")), text=str(content.get("text", "")),
            html=content.get("html"), attachments=attachments, locale=claimed.locale))
    elif claimed.channel == "sms":
        assert claimed.address is not None
        await channels.sms.send(tenant=claimed.tenant, delivery_id=claimed.delivery_id,
                                to=claimed.address, text=str(content.get("text", "")))


async def _settle(
    sessions: async_sessionmaker[AsyncSession], claimed: _Claimed, error: SendError | None,
    config: DeliveryConfig, now: datetime,
) -> str:
    async with unit_of_work(sessions) as session:
        delivery = (await session.execute(
            select(Delivery).where(Delivery.id == claimed.delivery_id).with_for_update()
        )).scalar_one_or_none()
        if delivery is None or delivery.status != "sending":
            return "gone"  # erased or settled by a worker that took over the lease
        message: Message = delivery.message
        with resume("notification delivery", message.journey):
            if error is None:
                if delivery.channel == "inbox" and message.recipient_account_id is not None:
                    await inbox.put(session, tenant=message.tenant,
                                    account_id=message.recipient_account_id,
                                    delivery_id=delivery.id, department=message.department,
                                    title=str(claimed.content.get("title", "")),
                                    body=str(claimed.content.get("body", "")))
                delivery.deliver(now)
            else:
                delivery.attempt_failed(
                    now, error.reason, permanent=isinstance(error, PermanentSendError),
                    max_attempts=config.max_attempts,
                    retry_at=now + config.backoff(delivery.attempts))
        if delivery.status == "permanent_failure":
            count_failed(delivery.tenant, delivery.channel, delivery.reason)
        return delivery.status


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession], channels: Channels, config: DeliveryConfig,
    *, now: datetime | None = None,
) -> dict[str, int]:
    """One round: claim, send, settle (see the module docstring). ``now`` (default: the
    clock) decides what is due and stamps the results; tests pass it to skip the backoff.
    Returns how many deliveries ended in each status this round."""
    moment = now or datetime.now(UTC)
    counts: dict[str, int] = {}
    for claimed in await _claim(sessions, config, moment):
        error: SendError | None = None
        try:
            await _send(claimed, channels)
        except SendError as exc:
            error = exc
        status = await _settle(sessions, claimed, error, config, now or datetime.now(UTC))
        counts[status] = counts.get(status, 0) + 1
        if error is not None:
            log.warning("delivery failed", extra={"delivery_id": str(claimed.delivery_id),
                                                  "channel": claimed.channel,
                                                  "reason": error.reason, "status": status})
    return counts


async def run_delivery_job(
    sessions: async_sessionmaker[AsyncSession], channels: Channels, config: DeliveryConfig,
    stop: asyncio.Event, *, interval: float = 1.0,
) -> None:
    """Run :func:`deliver_due` until ``stop`` is set: again at once after a full batch, else
    after ``interval`` seconds. A database error is logged and the round retried later."""
    while not stop.is_set():
        full = False
        try:
            counts = await deliver_due(sessions, channels, config)
            full = sum(counts.values()) >= config.batch_size
        except (OSError, DBAPIError) as exc:
            log.warning("delivery round failed", extra={"error": type(exc).__name__})
        if full:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
