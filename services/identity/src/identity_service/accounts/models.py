"""ORM models of accounts, verified attributes, staff roles and e-mail verifications.

The schema is migration 0003. Personal data lives only in ``accounts`` (e-mail, names, password
hash) and ``account_attributes``; erasing an account clears both and keeps the bare row so
that references (roles history, tokens) stay consistent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import DateTime, ForeignKey, ForeignKeyConstraint, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from identity_service.tenancy.models import Base

AdminLevel = Literal["tenant", "platform"]
ROLES = ("manager", "clerk", "cashier", "gatekeeper")


class Account(Base):
    """A person with a login in one tenant: a citizen or a staff member (maybe an admin)."""

    __tablename__ = "accounts"
    # Fetch server-side values (created_at, updated_at) with RETURNING on every flush, so they
    # never need a lazy load (which async sessions cannot do).
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63), ForeignKey("tenants.slug"))
    kind: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(Text)
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8), default="de")
    admin: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    attributes: Mapped[list[AccountAttribute]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="selectin"
    )
    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="selectin"
    )

    def is_locked(self, now: datetime) -> bool:
        """True while a lockout after failed logins lasts."""
        return self.locked_until is not None and self.locked_until > now

    def erase(self, now: datetime) -> None:
        """Remove every piece of personal data this row and its attributes hold; the bare row
        (id, tenant, kind, status ``erased``) stays so references remain consistent."""
        self.email = None
        self.password_hash = None
        self.given_name = None
        self.family_name = None
        self.admin = None
        self.email_verified_at = None
        self.last_login_at = None
        self.failed_logins = 0
        self.locked_until = None
        self.status = "erased"
        self.erased_at = now
        self.attributes.clear()
        self.roles.clear()

    def roles_by_department(self) -> dict[str, list[str]]:
        """``{"museum": ["cashier", "manager"]}``: the shape of the ``roles`` token claim."""
        out: dict[str, list[str]] = {}
        for grant in self.roles:
            out.setdefault(grant.department, []).append(grant.role)
        return {dept: sorted(roles) for dept, roles in sorted(out.items())}


class AccountAttribute(Base):
    """An attribute of a person with the level of assurance it was proven at."""

    __tablename__ = "account_attributes"

    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    loa: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())

    account: Mapped[Account] = relationship(back_populates="attributes")


class StaffRole(Base):
    """One role of a staff member in one department of their tenant."""

    __tablename__ = "staff_roles"
    __table_args__ = (
        ForeignKeyConstraint(["tenant", "department"], ["departments.tenant", "departments.slug"],
                             ondelete="CASCADE"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str] = mapped_column(String(63), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    granted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    account: Mapped[Account] = relationship(back_populates="roles")


class EmailVerification(Base):
    """A pending e-mail verification; only the token's sha256 is stored."""

    __tablename__ = "email_verifications"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE")
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginThrottle(Base):
    """Failed password logins of one (tenant, e-mail address, client address), whether or not
    an account has that address; ``key`` is the SHA-256 of the three (no address in clear)."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_logins: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
