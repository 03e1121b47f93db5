"""ORM model of a signing key (table ``signing_keys``, migration 0003) and its life cycle.

``next`` (published, not yet signing) -> ``active`` (signs; exactly one, by a unique partial
index) -> ``retiring`` (published until ``publish_until`` so tokens it signed still verify)
-> ``retired`` (never published again).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from identity_service.tenancy.models import Base


class SigningKey(Base):
    """One signing key pair; the private half is a JWE (see :mod:`.encryption`)."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_jwk: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    publish_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def activate(self, now: datetime) -> None:
        """``next`` -> ``active``."""
        if self.status != "next":
            raise ValueError(f"cannot activate a {self.status} key")
        self.status = "active"
        self.activated_at = now

    def start_retiring(self, publish_until: datetime) -> None:
        """``active`` -> ``retiring``: still published (verifiable) until ``publish_until``."""
        if self.status != "active":
            raise ValueError(f"cannot retire a {self.status} key")
        self.status = "retiring"
        self.publish_until = publish_until

    def retire(self, now: datetime) -> None:
        """``retiring`` -> ``retired``: no longer published; the private half is discarded."""
        if self.status != "retiring":
            raise ValueError(f"cannot retire a {self.status} key")
        self.status = "retired"
        self.retired_at = now
        self.private_jwk = ""
