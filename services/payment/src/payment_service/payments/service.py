"""Use cases on payments: create (idempotent on tenant + source + reference), get, list,
cancel, history, and the status changes the state machine allows. Flushes, never commits: the
caller's unit of work does (ADR 0011).

Every status change goes through :func:`change_status`: it locks nothing itself (callers hold
the payment row ``FOR UPDATE``), lets the payment check the transition and record its event
(:meth:`Payment.transition`) and appends a history entry, all in the caller's transaction. A
success books the payment into the ledger through
:func:`payment_service.ledger.hooks.on_payment_succeeded`, in the same transaction, exactly
once per payment (the state machine allows ``succeeded`` once).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.envelope import Event
from city_shared.errors import Conflict
from city_shared.journey import capture
from city_shared.pagination import Cursor, next_page
from payment_service.ledger.hooks import on_payment_succeeded
from payment_service.payments import events, repository
from payment_service.payments.access import Visibility
from payment_service.payments.errors import (
    LineItemsMismatch,
    PaymentNotFound,
    ReferenceConflict,
    ReturnUrlNotAllowed,
)
from payment_service.payments.models import Payment, PaymentHistory, PaymentStatus
from payment_service.payments.repository import PaymentFilters
from payment_service.payments.schemas import PaymentCreate
from payment_service.providers.base import PaymentProvider
from payment_service.settings import PaymentSettings

__all__ = [
    "CANCELLED_BY_SERVICE",
    "EXPIRED",
    "PaymentConfig",
    "PaymentFilters",
    "cancel_payment",
    "change_status",
    "create_payment",
    "forget_payer",
    "get_payment",
    "list_payments",
    "origin_of",
    "payment_history",
    "start_payment",
]

CANCELLED_BY_SERVICE = "cancelled_by_service"
EXPIRED = "expired"


def now_utc() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class PaymentConfig:
    """The payments slice's tunables: expiry after creation, the public base URL and the
    origins a ``return_url`` may point to."""

    expiry: timedelta = timedelta(minutes=90)
    base_url: str = "http://127.0.0.1:8003"
    return_url_origins: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: PaymentSettings) -> PaymentConfig:
        """``payment_expiry_seconds``, the public base URL, ``payment_return_url_origins``."""
        return cls(timedelta(seconds=settings.payment_expiry_seconds), settings.base_url,
                   frozenset(settings.payment_return_url_origins))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` as browsers write an origin (lower case, no
    default port); "" if it has none."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return ""
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def check_return_url(url: str | None, config: PaymentConfig) -> None:
    """:raises ReturnUrlNotAllowed: (422) ``url`` is set and its origin is not registered."""
    if url is None:
        return
    origin = origin_of(url)
    if origin not in config.return_url_origins:
        raise ReturnUrlNotAllowed(origin or url[:100])


def _terms(amount: int, currency: str, items: list[tuple[str, str, int]]) -> tuple[object, ...]:
    return (amount, currency, tuple(items))


def _same_terms(payment: Payment, data: PaymentCreate) -> bool:
    stored = _terms(payment.amount, payment.currency,
                    [(i.department, i.cost_centre, i.amount) for i in payment.line_items])
    wanted = _terms(data.amount, data.currency,
                    [(i.department, i.cost_centre, i.amount) for i in data.line_items])
    return stored == wanted


def _existing(payment: Payment, data: PaymentCreate) -> tuple[Payment, bool]:
    if not _same_terms(payment, data):
        raise ReferenceConflict(str(payment.id))
    return payment, False


async def create_payment(
    session: AsyncSession,
    data: PaymentCreate,
    *,
    tenant: str,
    source: str,
    provider: PaymentProvider,
    config: PaymentConfig,
    now: datetime | None = None,
    caused_by: Event | None = None,
) -> tuple[Payment, bool]:
    """Create the payment, or return the one ``source`` already has for ``data.reference``.

    Returns ``(payment, created)``. Concurrent creates of one reference yield one payment: the
    unique constraint decides, the losers read the winner's row. Only a new payment is opened
    at the provider and announced (``created`` event, caused by ``caused_by`` if given).

    :raises LineItemsMismatch: (422) the line items do not add up to the amount.
    :raises ReturnUrlNotAllowed: (422) ``return_url``'s origin is not registered.
    :raises ReferenceConflict: (409) the reference exists with another amount, currency or
        line items.
    """
    total = sum(item.amount for item in data.line_items)
    if total != data.amount:
        raise LineItemsMismatch(data.amount, total)
    check_return_url(data.return_url, config)
    now = now or now_utc()
    payer = data.payer
    journey = capture()  # the request's or the command's journey (the consumer sets it)
    # The insert decides (ON CONFLICT DO NOTHING): a reference seen before costs no extra read
    # in the common case of a new one.
    payment = await repository.insert_payment(
        session,
        {
            "id": uuid.uuid4(), "tenant": tenant, "source": source, "reference": data.reference,
            "amount": data.amount, "currency": data.currency, "description": data.description,
            "return_url": data.return_url, "metadata_": dict(data.metadata),
            "payer_account_id": payer.account_id if payer else None,
            "payer_email": payer.email if payer else None,
            "payer_name": payer.name if payer else None,
            "status": "created", "provider": provider.name,
            "expires_at": now + config.expiry, "created_at": now, "updated_at": now,
            "correlation_id": journey.correlation_id, "traceparent": journey.traceparent,
        },
        [item.model_dump() for item in data.line_items],
    )
    if payment is None:
        found = await repository.get_by_reference(session, tenant, source, data.reference)
        if found is None:  # the conflicting row vanished again; the client may retry
            raise Conflict("A concurrent request for this reference did not finish; retry.")
        return _existing(found, data)
    hosted = await provider.create_hosted_payment(payment)
    payment.opened(hosted.provider_payment_id, hosted.next_url, caused_by=caused_by)
    await repository.write_opened(session, payment, events.CREATED, now,
                                  {"amount": payment.amount, "currency": payment.currency})
    await session.flush()
    return payment, True


async def get_payment(session: AsyncSession, v: Visibility, payment_id: uuid.UUID) -> Payment:
    """The payment, if the caller may see it.

    :raises PaymentNotFound: (404) no such payment for this caller (incl. another tenant's).
    """
    payment = await repository.get(session, v, payment_id)
    if payment is None:
        raise PaymentNotFound()
    return payment


async def list_payments(
    session: AsyncSession, v: Visibility, filters: PaymentFilters, *, cursor: str | None,
    limit: int,
) -> tuple[list[Payment], str | None]:
    """One page of visible payments, newest first, and the cursor of the next page (None on
    the last page).

    :raises InvalidCursor: (422) ``cursor`` was not issued by this service.
    """
    rows = await repository.list_page(session, v, filters, Cursor.parse(cursor), limit + 1)
    return next_page(rows, limit, lambda p: Cursor(p.created_at, p.id))


async def payment_history(
    session: AsyncSession, v: Visibility, payment_id: uuid.UUID
) -> list[PaymentHistory]:
    """The history of a payment the caller may see, oldest first.

    :raises PaymentNotFound: (404) no such payment for this caller.
    """
    await get_payment(session, v, payment_id)
    return await repository.history(session, payment_id)


async def change_status(
    session: AsyncSession,
    payment: Payment,
    status: PaymentStatus,
    reason: str | None,
    now: datetime,
    *,
    caused_by: Event | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Move a locked payment to ``status`` (it records its event): history entry, and for a
    success the ledger booking, all in the caller's transaction.

    :raises InvalidTransition: (409) the state machine forbids the change.
    """
    payment.transition(status, reason, now, caused_by=caused_by)
    await repository.add_history(session, payment, events.BY_STATUS[status], now, detail)
    if status == "succeeded":
        await on_payment_succeeded(session, payment)
    await session.flush()


async def start_payment(session: AsyncSession, payment: Payment, now: datetime) -> bool:
    """Mark a locked ``created`` payment ``started`` (the person opened the pay page);
    False if it was not ``created`` (nothing changes)."""
    if payment.status != "created":
        return False
    await change_status(session, payment, "started", None, now)
    return True


async def cancel_payment(
    session: AsyncSession, v: Visibility, payment_id: uuid.UUID, *, now: datetime | None = None
) -> Payment:
    """Cancel an open payment (reason ``cancelled_by_service``). Cancelling a cancelled
    payment changes nothing and returns it.

    :raises PaymentNotFound: (404) no such payment for this caller.
    :raises InvalidTransition: (409) the payment succeeded, failed or expired.
    """
    payment = await repository.get_for_update(session, v, payment_id)
    if payment is None:
        raise PaymentNotFound()
    if payment.status == "cancelled":
        return payment
    await change_status(session, payment, "cancelled", CANCELLED_BY_SERVICE, now or now_utc())
    return payment


async def forget_payer(session: AsyncSession, tenant: str, account_id: uuid.UUID) -> int:
    """Pseudonymise the payer of every payment of ``account_id`` in ``tenant``: account id,
    e-mail address and name are removed, the payments and their bookings stay. Idempotent;
    returns how many payments changed."""
    changed = 0
    for payment in await repository.lock_of_payer(session, tenant, account_id):
        if payment.forget_payer():
            payment.version += 1
            changed += 1
    await session.flush()
    return changed
