"""ORM model of the contact directory (migration 0002): e-mail address and locale per account,
kept from identity's account events, so events that name only an account can still reach the
person. Personal data: deleted on ``account.erased``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, String, false, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from notification_service.db import Base

__all__ = ["Contact"]


class Contact(Base):
    """How to reach one account."""

    __tablename__ = "contacts"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    #: Whether identity verified ``email``; only a verified address is used from here.
    email_verified: Mapped[bool] = mapped_column(Boolean, server_default=false())
    locale: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
