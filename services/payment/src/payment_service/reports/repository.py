"""Queries of the reports slice: one day's ledger movements per payment, refund and
department, the imported settlement lines, and the payments' line items. Never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, delete, distinct, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.ledger.models import LedgerEntry
from payment_service.payments.models import Payment, PaymentLineItem
from payment_service.reports.models import ProviderSettlement, SettlementImport

__all__ = [
    "LedgerMovement",
    "claim_import",
    "imports",
    "last_booking",
    "ledger_movements",
    "line_items",
    "providers_of",
    "replace_lines",
    "settlement_lines",
]


@dataclass(frozen=True)
class LedgerMovement:
    """Revenue one department took (a capture) or paid back (a refund) for one payment."""

    payment_id: uuid.UUID
    refund_id: uuid.UUID | None
    department: str
    currency: str
    amount: int


async def ledger_movements(session: AsyncSession, tenant: str, day: date) -> list[LedgerMovement]:
    """The revenue side of every booking of ``tenant`` with value date ``day``, per payment,
    refund and department (all departments: a basket's total spans them)."""
    amount = func.sum(case((LedgerEntry.refund_id.is_(None), LedgerEntry.credit),
                           else_=LedgerEntry.debit))
    stmt = (
        select(LedgerEntry.payment_id, LedgerEntry.refund_id, LedgerEntry.department,
               LedgerEntry.currency, amount)
        .where(LedgerEntry.tenant == tenant, LedgerEntry.value_date == day,
               LedgerEntry.account.startswith("revenue:"))
        .group_by(LedgerEntry.payment_id, LedgerEntry.refund_id, LedgerEntry.department,
                  LedgerEntry.currency)
    )
    return [LedgerMovement(p, r, d or "", c, int(a))
            for p, r, d, c, a in (await session.execute(stmt)).all()]


async def last_booking(session: AsyncSession, tenant: str, day: date) -> datetime | None:
    """When the latest entry with value date ``day`` was booked."""
    stmt = select(func.max(LedgerEntry.booked_at)).where(
        LedgerEntry.tenant == tenant, LedgerEntry.value_date == day)
    return (await session.execute(stmt)).scalar_one_or_none()


async def settlement_lines(
    session: AsyncSession, tenant: str, day: date
) -> list[ProviderSettlement]:
    """The imported settlement lines of ``tenant`` for ``day``, all providers."""
    stmt = (select(ProviderSettlement)
            .where(ProviderSettlement.tenant == tenant, ProviderSettlement.settled_on == day)
            .order_by(ProviderSettlement.id))
    return list((await session.execute(stmt)).scalars())


async def imports(session: AsyncSession, tenant: str, day: date) -> dict[str, datetime]:
    """Provider -> when its settlement of ``day`` was imported for ``tenant``."""
    stmt = select(SettlementImport.provider, SettlementImport.imported_at).where(
        SettlementImport.tenant == tenant, SettlementImport.settled_on == day)
    return {p: at for p, at in (await session.execute(stmt)).all()}


async def providers_of(session: AsyncSession, tenant: str) -> list[str]:
    """The providers ``tenant``'s payments went through."""
    stmt = select(distinct(Payment.provider)).where(Payment.tenant == tenant)
    return sorted((await session.execute(stmt)).scalars())


async def line_items(
    session: AsyncSession, tenant: str, payment_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[PaymentLineItem]]:
    """The line items (position order) of those of ``payment_ids`` that are ``tenant``'s."""
    if not payment_ids:
        return {}
    stmt = (
        select(PaymentLineItem)
        .join(Payment, Payment.id == PaymentLineItem.payment_id)
        .where(Payment.tenant == tenant, PaymentLineItem.payment_id.in_(list(payment_ids)))
        .order_by(PaymentLineItem.payment_id, PaymentLineItem.position)
    )
    found: dict[uuid.UUID, list[PaymentLineItem]] = {}
    for item in (await session.execute(stmt)).scalars():
        found.setdefault(item.payment_id, []).append(item)
    return found


async def claim_import(
    session: AsyncSession, provider: str, tenant: str, day: date, lines: int
) -> datetime:
    """Record the import of (provider, tenant, day) at the database's ``now()``, locking its
    row (concurrent imports of the same day run one after the other); returns that time."""
    values = insert(SettlementImport).values(
        provider=provider, tenant=tenant, settled_on=day, lines=lines, imported_at=func.now())
    stmt = values.on_conflict_do_update(
        index_elements=["provider", "tenant", "settled_on"],
        set_={"lines": values.excluded.lines, "imported_at": values.excluded.imported_at},
    ).returning(SettlementImport.imported_at)
    imported_at: datetime = (await session.execute(stmt)).scalar_one()
    return imported_at


async def replace_lines(
    session: AsyncSession, provider: str, tenant: str, day: date,
    rows: list[dict[str, object]],
) -> None:
    """Replace the stored lines of (provider, tenant, day) with ``rows``."""
    await session.execute(delete(ProviderSettlement).where(
        ProviderSettlement.provider == provider, ProviderSettlement.tenant == tenant,
        ProviderSettlement.settled_on == day))
    if rows:
        await session.execute(insert(ProviderSettlement), rows)
