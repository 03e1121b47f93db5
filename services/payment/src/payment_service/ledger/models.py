"""ORM model of ledger entries (migrations 0002 and 0003).

Entries are append-only (a trigger refuses UPDATE and DELETE) and every booking - all entries
sharing a ``booking_id`` - balances at commit (a deferred constraint trigger). Accounts:

- ``clearing:<provider>``: money the provider holds for the city (debit on capture);
- ``revenue:<department>:<cost_centre>``: a department's income (credit on capture).

Each entry names the payment line item (``line_position``) it belongs to, so department,
cost centre and the line's refunds can always be traced.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Identity, Integer, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from payment_service.payments.models import Base

__all__ = ["LedgerEntry", "clearing_account", "revenue_account"]


def clearing_account(provider: str) -> str:
    """The clearing account of ``provider``."""
    return f"clearing:{provider}"


def revenue_account(department: str, cost_centre: str) -> str:
    """The revenue account of a department's cost centre."""
    return f"revenue:{department}:{cost_centre}"


class LedgerEntry(Base):
    """One side of a double-entry booking: either a debit or a credit, in minor units."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63))
    booking_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    account: Mapped[str] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(63))
    cost_centre: Mapped[str | None] = mapped_column(String(32))
    debit: Mapped[int] = mapped_column(BigInteger, default=0)
    credit: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    payment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("payments.id"))
    refund_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True),
                                                        ForeignKey("refunds.id"))
    line_position: Mapped[int] = mapped_column(Integer)
    value_date: Mapped[date] = mapped_column(Date)
    booked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                server_default=func.now())
