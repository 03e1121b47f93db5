"""ORM models of tenants and departments (identity owns them; others learn them from tokens)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from identity_service.db import metadata


class Base(DeclarativeBase):
    """Declarative base bound to the identity service's metadata."""

    metadata = metadata


class Tenant(Base):
    """A municipality; ``slug`` is the ``tenant`` claim and event extension."""

    __tablename__ = "tenants"

    slug: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Department(Base):
    """A department of one tenant, with the cost centre its revenue is booked to."""

    __tablename__ = "departments"

    tenant: Mapped[str] = mapped_column(
        String(63), ForeignKey("tenants.slug", ondelete="CASCADE"), primary_key=True
    )
    slug: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    cost_centre: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
