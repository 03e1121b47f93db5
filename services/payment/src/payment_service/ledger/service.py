"""Use cases of the ledger: book a captured payment and a refund double-entry per line item,
read balances, and check the ledger's invariants. Flushes, never commits.

A capture debits ``clearing:<provider>`` and credits ``revenue:<department>:<cost_centre>``
for each line item; a refund books the reverse, split over the line items in proportion to
what each still holds (largest remainder, whole cents). Every entry carries its line item's
department, so two departments' income never mixes, not even within one basket. Value dates
are calendar days in :data:`VALUE_DATE_ZONE`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.ledger import repository
from payment_service.ledger.allocation import split_proportionally
from payment_service.ledger.models import clearing_account, revenue_account
from payment_service.ledger.repository import AccountBalance
from payment_service.payments.models import Payment, PaymentLineItem
from payment_service.refunds.models import Refund

__all__ = [
    "VALUE_DATE_ZONE",
    "LedgerInvariantViolated",
    "balances",
    "book_payment",
    "book_refund",
    "ledger_balances",
    "ledger_violations",
    "value_date",
]

log = logging.getLogger(__name__)

#: The municipalities' business day: bookings and settlements are dated in this zone.
VALUE_DATE_ZONE = ZoneInfo("Europe/Berlin")


class LedgerInvariantViolated(RuntimeError):
    """A booking would break the ledger (e.g. refund more than a payment's line items hold).
    The refund guard makes this unreachable; reaching it is a bug, so it is no domain error."""


def value_date(at: datetime) -> date:
    """The business day of the instant ``at``."""
    return at.astimezone(VALUE_DATE_ZONE).date()


def _pair(
    payment: Payment, item: PaymentLineItem, amount: int, booking_id: uuid.UUID, day: date,
    *, refund_id: uuid.UUID | None,
) -> list[dict[str, Any]]:
    """The two entries moving ``amount`` of one line item between clearing and revenue:
    a capture (no refund) debits clearing, a refund debits revenue."""
    common = {
        "tenant": payment.tenant, "booking_id": booking_id, "department": item.department,
        "cost_centre": item.cost_centre, "currency": payment.currency,
        "payment_id": payment.id, "refund_id": refund_id, "line_position": item.position,
        "value_date": day,
    }
    clearing = clearing_account(payment.provider)
    revenue = revenue_account(item.department, item.cost_centre)
    debit_account, credit_account = (revenue, clearing) if refund_id else (clearing, revenue)
    return [
        {**common, "account": debit_account, "debit": amount, "credit": 0},
        {**common, "account": credit_account, "debit": 0, "credit": amount},
    ]


async def book_payment(
    session: AsyncSession, payment: Payment, *, at: datetime | None = None
) -> uuid.UUID | None:
    """Book the capture of ``payment``: one booking, two entries per line item with an amount.

    Idempotent: a payment is booked at most once (returns None when it was booked before),
    also under concurrent calls. Value date: the day of ``at``, else of ``finished_at``, else
    now. Does not commit.
    """
    items = await repository.line_items(session, payment.id)
    if sum(item.amount for item in items) != payment.amount:
        raise LedgerInvariantViolated("the line items do not add up to the payment's amount")
    booking_id = uuid.uuid4()
    day = value_date(at or payment.finished_at or datetime.now(UTC))
    rows = [row for item in items if item.amount > 0
            for row in _pair(payment, item, item.amount, booking_id, day, refund_id=None)]
    inserted = await repository.insert_booking(session, rows, for_refund=False)
    if inserted == 0:
        return None
    log.info("payment booked", extra={"payment_id": str(payment.id),
                                      "booking_id": str(booking_id)})
    return booking_id


async def book_refund(
    session: AsyncSession, payment: Payment, refund: Refund, *, at: datetime | None = None
) -> uuid.UUID | None:
    """Book a succeeded refund: revenue debited and clearing credited, split over the line
    items in proportion to what each still holds, so the shares add up to the refund exactly
    and no line item ever pays back more than it took.

    The caller holds the payment row lock (refunds of one payment are booked one after the
    other). Books the capture first if it is not booked yet (money captured after expiry).
    Idempotent per refund (None when booked before). Does not commit.

    A refund limited to some line items (``refund.line_positions``) is split over those only.

    :raises LedgerInvariantViolated: the refund exceeds what the line items still hold.
    """
    await book_payment(session, payment, at=at)
    items = await repository.line_items(session, payment.id)
    refunded = await repository.refunded_by_line(session, payment.id)
    remaining = [item.amount - refunded.get(item.position, 0) for item in items]
    if refund.line_positions is not None:
        chosen = set(refund.line_positions)
        remaining = [r if item.position in chosen else 0
                     for item, r in zip(items, remaining, strict=True)]
    if refund.amount > sum(remaining) or min(remaining, default=0) < 0:
        raise LedgerInvariantViolated("refund exceeds what the payment's line items hold")
    shares = split_proportionally(refund.amount, remaining)
    booking_id = uuid.uuid4()
    day = value_date(at or refund.finished_at or datetime.now(UTC))
    rows = [row for item, share in zip(items, shares, strict=True) if share > 0
            for row in _pair(payment, item, share, booking_id, day, refund_id=refund.id)]
    inserted = await repository.insert_booking(session, rows, for_refund=True)
    return booking_id if inserted else None


async def balances(
    session: AsyncSession,
    tenant: str,
    departments: Collection[str] | None,
    value_from: date | None = None,
    value_to: date | None = None,
) -> list[AccountBalance]:
    """Debit and credit totals per account, department and currency (value dates inclusive);
    ``departments`` None: all of the tenant's."""
    return await repository.account_balances(session, tenant, departments, value_from, value_to)


async def ledger_violations(session: AsyncSession, tenant: str) -> list[tuple[str, str, int]]:
    """The broken invariants of ``tenant``'s ledger as ``(check, subject, difference)``:
    an unbalanced booking or currency, a line item that paid back more than it took, a capture
    booked with another total than the payment, refunds booked with another total than the
    payment's ``refunded_amount``. Empty when the ledger is sound."""
    return await repository.violations(session, tenant)


async def ledger_balances(session: AsyncSession, tenant: str) -> bool:
    """True if ``tenant``'s ledger holds every invariant of :func:`ledger_violations` (in
    particular, debits equal credits per booking and overall)."""
    found = await ledger_violations(session, tenant)
    for check, subject, difference in found:
        log.error("ledger invariant violated",
                  extra={"check": check, "subject": subject, "difference": difference})
    return not found
