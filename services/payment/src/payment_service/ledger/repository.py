"""Queries of the ledger: inserting bookings idempotently, what each line item has had
refunded, balances, and the invariant checks. Never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.ledger.models import LedgerEntry
from payment_service.payments.models import PaymentLineItem

__all__ = [
    "AccountBalance",
    "account_balances",
    "has_payment_booking",
    "insert_booking",
    "line_items",
    "refunded_by_line",
    "violations",
]


@dataclass(frozen=True)
class AccountBalance:
    """Debits and credits of one account for one department and currency."""

    account: str
    department: str | None
    currency: str
    debit: int
    credit: int


async def line_items(session: AsyncSession, payment_id: uuid.UUID) -> list[PaymentLineItem]:
    """The payment's line items in position order, read from the database (not a relationship
    that may still hold unflushed state)."""
    stmt = (select(PaymentLineItem).where(PaymentLineItem.payment_id == payment_id)
            .order_by(PaymentLineItem.position))
    return list((await session.execute(stmt)).scalars())


async def insert_booking(
    session: AsyncSession, rows: Sequence[dict[str, Any]], *, for_refund: bool
) -> int:
    """Insert the entries of one booking unless the payment's (or the refund's) booking exists;
    returns how many entries were inserted (0: booked before).

    The unique partial indexes of migration 0003 decide, so two concurrent bookings of the
    same payment or refund insert once: the second waits for the first and then skips.
    """
    if not rows:
        return 0
    key = "refund_id" if for_refund else "payment_id"
    where = (LedgerEntry.refund_id.is_not(None) if for_refund
             else LedgerEntry.refund_id.is_(None))
    stmt = (
        insert(LedgerEntry)
        .values(list(rows))
        .on_conflict_do_nothing(
            index_elements=[key, "line_position", "account"], index_where=where
        )
        .returning(LedgerEntry.id)
    )
    return len((await session.execute(stmt)).all())


async def has_payment_booking(session: AsyncSession, payment_id: uuid.UUID) -> bool:
    """True if the capture of the payment is booked."""
    stmt = select(
        select(LedgerEntry.id)
        .where(LedgerEntry.payment_id == payment_id, LedgerEntry.refund_id.is_(None))
        .exists()
    )
    return bool((await session.execute(stmt)).scalar())


async def refunded_by_line(session: AsyncSession, payment_id: uuid.UUID) -> dict[int, int]:
    """Line position -> revenue already paid back by booked refunds."""
    stmt = (
        select(LedgerEntry.line_position, func.sum(LedgerEntry.debit))
        .where(LedgerEntry.payment_id == payment_id, LedgerEntry.refund_id.is_not(None),
               LedgerEntry.account.startswith("revenue:"))
        .group_by(LedgerEntry.line_position)
    )
    return {int(pos): int(total) for pos, total in (await session.execute(stmt)).all()}


async def refund_shares(session: AsyncSession,
                        refund_id: uuid.UUID) -> list[tuple[int, str, str, int]]:
    """``(line position, department, cost centre, amount)`` the refund's booking took back
    from each line item's revenue, in position order (empty before it is booked)."""
    stmt = (
        select(LedgerEntry.line_position, LedgerEntry.department, LedgerEntry.cost_centre,
               func.sum(LedgerEntry.debit))
        .where(LedgerEntry.refund_id == refund_id, LedgerEntry.account.startswith("revenue:"))
        .group_by(LedgerEntry.line_position, LedgerEntry.department, LedgerEntry.cost_centre)
        .order_by(LedgerEntry.line_position)
    )
    return [(int(pos), str(dep), str(cc), int(total))
            for pos, dep, cc, total in (await session.execute(stmt)).all()]


async def account_balances(
    session: AsyncSession,
    tenant: str,
    departments: Collection[str] | None,
    value_from: date | None,
    value_to: date | None,
) -> list[AccountBalance]:
    """Summed debits and credits per account, department and currency of ``tenant`` within
    the value dates (both inclusive); ``departments`` None means all."""
    stmt = (
        select(LedgerEntry.account, LedgerEntry.department, LedgerEntry.currency,
               func.sum(LedgerEntry.debit), func.sum(LedgerEntry.credit))
        .where(LedgerEntry.tenant == tenant)
        .group_by(LedgerEntry.account, LedgerEntry.department, LedgerEntry.currency)
        .order_by(LedgerEntry.department, LedgerEntry.currency, LedgerEntry.account)
    )
    if departments is not None:
        stmt = stmt.where(LedgerEntry.department.in_(sorted(departments)))
    if value_from is not None:
        stmt = stmt.where(LedgerEntry.value_date >= value_from)
    if value_to is not None:
        stmt = stmt.where(LedgerEntry.value_date <= value_to)
    return [
        AccountBalance(account, department, currency, int(debit), int(credit))
        for account, department, currency, debit, credit in (await session.execute(stmt)).all()
    ]


# Each check returns one row per violation: (what, the id it concerns, the difference).
_CHECKS: dict[str, str] = {
    "booking_unbalanced": """
        SELECT booking_id::text, sum(debit) - sum(credit) FROM ledger_entries
         WHERE tenant = :tenant GROUP BY booking_id HAVING sum(debit) <> sum(credit)""",
    "currency_unbalanced": """
        SELECT currency, sum(debit) - sum(credit) FROM ledger_entries
         WHERE tenant = :tenant GROUP BY currency HAVING sum(debit) <> sum(credit)""",
    "line_over_refunded": """
        SELECT e.payment_id::text || '/' || e.line_position,
               coalesce(sum(e.debit) FILTER (WHERE e.refund_id IS NOT NULL), 0)
                 - coalesce(sum(e.credit) FILTER (WHERE e.refund_id IS NULL), 0)
          FROM ledger_entries e
         WHERE e.tenant = :tenant AND e.account LIKE 'revenue:%'
         GROUP BY e.payment_id, e.line_position
        HAVING coalesce(sum(e.debit) FILTER (WHERE e.refund_id IS NOT NULL), 0)
               > coalesce(sum(e.credit) FILTER (WHERE e.refund_id IS NULL), 0)""",
    "capture_differs_from_payment": """
        SELECT p.id::text, sum(e.credit) - p.amount
          FROM payments p JOIN ledger_entries e
            ON e.payment_id = p.id AND e.refund_id IS NULL AND e.account LIKE 'revenue:%'
         WHERE p.tenant = :tenant
         GROUP BY p.id, p.amount HAVING sum(e.credit) <> p.amount""",
    "refunds_differ_from_payment": """
        SELECT p.id::text,
               coalesce((SELECT sum(e.debit) FROM ledger_entries e
                          WHERE e.payment_id = p.id AND e.refund_id IS NOT NULL
                            AND e.account LIKE 'revenue:%'), 0) - p.refunded_amount
          FROM payments p
         WHERE p.tenant = :tenant
           AND coalesce((SELECT sum(e.debit) FROM ledger_entries e
                          WHERE e.payment_id = p.id AND e.refund_id IS NOT NULL
                            AND e.account LIKE 'revenue:%'), 0) <> p.refunded_amount""",
}


async def violations(session: AsyncSession, tenant: str) -> list[tuple[str, str, int]]:
    """Every broken ledger invariant of ``tenant`` as ``(check, subject, difference)``."""
    found: list[tuple[str, str, int]] = []
    for name, sql in _CHECKS.items():
        rows = (await session.execute(text(sql), {"tenant": tenant})).all()
        found.extend((name, str(subject), int(diff or 0)) for subject, diff in rows)
    return found
