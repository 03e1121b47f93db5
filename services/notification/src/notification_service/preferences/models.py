"""ORM model of contact preferences (migration 0002): per account and channel, whether the
person wants messages there. No row means yes. Legally required messages ignore them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from notification_service.db import Base

__all__ = ["Preference"]


class Preference(Base):
    """One channel's choice of one account."""

    __tablename__ = "preferences"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
