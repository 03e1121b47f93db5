"""ORM models of the providers' settlements as imported (migration 0003): what a provider says
it moved for the city per day, from :meth:`PaymentProvider.settlement`, and when each day was
imported. Deliberately without foreign keys: a line for a payment or refund we do not know
must be storable, because reconciliation has to show it."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Identity, Integer, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from payment_service.payments.models import Base

__all__ = ["ProviderSettlement", "SettlementImport"]


class ProviderSettlement(Base):
    """One captured payment or one refund as the provider settled it on ``settled_on``."""

    __tablename__ = "provider_settlements"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(63))
    settled_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    payment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    refund_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    provider_reference: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())


class SettlementImport(Base):
    """When a provider's settlement of one day was last imported for one tenant, and how many
    lines it had (zero lines is an import too: the provider settled nothing)."""

    __tablename__ = "settlement_imports"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    settled_on: Mapped[date] = mapped_column(Date, primary_key=True)
    lines: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
