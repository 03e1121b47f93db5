"""ORM models of the Open311 slice (migration 0005): the per-client report log behind the rate
limit and the key that pseudonymises client addresses. No raw address is ever stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, LargeBinary, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from case_service.db import Base

__all__ = ["ClientKey", "ReportLogEntry"]


class ClientKey(Base):
    """The one secret (row ``id`` 1) client addresses are HMAC'ed with; made on first use, shared
    by every API replica through the database. Deleting it re-keys (old log rows stop counting)."""

    __tablename__ = "open311_client_keys"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class ReportLogEntry(Base):
    """One accepted report of a client within the rate-limit window (deleted after it)."""

    __tablename__ = "open311_report_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    client_hash: Mapped[str] = mapped_column(String(64))
    """HMAC-SHA-256 (hex) of the client address under :class:`ClientKey`."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
