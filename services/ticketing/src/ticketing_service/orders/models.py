"""ORM models of orders, their lines and payment items (migration 0002), with the order state
machine, so that no code path can skip it::

    awaiting_payment -> confirmed | cancelled | expired
    confirmed -> cancellation_requested -> refunded
    cancellation_requested -> confirmed          (the refund failed)

``cancelled``: payment failed or was cancelled; ``expired``: hold or payment timed out;
``refunded``: the citizen cancelled and the money is back. Capacity is held while
``awaiting_payment``, sold while ``confirmed`` / ``cancellation_requested`` and released on the
way to any other status.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from city_shared.errors import InvalidTransition
from city_shared.journey import JourneyContext
from ticketing_service.db import Base

__all__ = [
    "CLOSED_STATUSES",
    "Order",
    "OrderLine",
    "OrderPaymentItem",
    "OrderStatus",
    "placed_by_of",
]

OrderStatus = Literal["awaiting_payment", "confirmed", "cancellation_requested", "cancelled",
                      "expired", "refunded"]
ERASED_PLACED_BY: Final = "erased-account"
"""What ``placed_by`` says instead of an erased buyer's account id."""


def placed_by_of(kind: str, sub: str) -> str:
    """What ``Order.placed_by`` says for a caller of ``kind`` with ``sub`` (e.g.
    ``citizen:<account id>``, ``client:<client id>``); the one place that format is made."""
    return f"{kind}:{sub}"[:100]


CLOSED_STATUSES: Final = frozenset({"cancelled", "expired", "refunded"})
_ALLOWED: Final[dict[str, frozenset[str]]] = {
    "awaiting_payment": frozenset({"confirmed", "cancelled", "expired"}),
    "confirmed": frozenset({"cancellation_requested"}),
    "cancellation_requested": frozenset({"refunded", "confirmed"}),
}


class Order(Base):
    """A basket of tickets of one tenant, possibly of several departments, paid at once."""

    __tablename__ = "orders"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(5), default="de")
    placed_by: Mapped[str] = mapped_column(String(100))
    """The ``sub`` of whoever placed it (the citizen, a cashier, a machine client)."""
    status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(255))
    """``ticketing/order/<id>``: the payment's reference (payment dedupes on it)."""
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    checkout_url: Mapped[str | None] = mapped_column(Text)
    return_url: Mapped[str | None] = mapped_column(Text)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    traceparent: Mapped[str | None] = mapped_column(String(64))
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    hold_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    lines: Mapped[list[OrderLine]] = relationship(
        order_by="OrderLine.position", cascade="all, delete-orphan", lazy="selectin",
        passive_deletes=True,
    )
    payment_items: Mapped[list[OrderPaymentItem]] = relationship(
        order_by="OrderPaymentItem.position", cascade="all, delete-orphan", lazy="selectin",
        passive_deletes=True,
    )

    @property
    def journey(self) -> JourneyContext:
        """The journey the order was placed in (the hold expiry job resumes it)."""
        return JourneyContext(self.correlation_id, self.traceparent)

    @property
    def departments(self) -> list[str]:
        """The departments of the lines, each once, in line order."""
        return list(dict.fromkeys(line.department for line in self.lines))

    @property
    def holds_capacity(self) -> bool:
        """True while the order's places are held (not yet sold)."""
        return self.status == "awaiting_payment"

    def can_become(self, status: str) -> bool:
        """True if the state machine allows the change to ``status`` now."""
        return status in _ALLOWED.get(self.status, frozenset())

    def transition(self, status: OrderStatus, reason: str | None, now: datetime) -> None:
        """Change the status (and its reason); stamps ``confirmed_at`` / ``closed_at``.

        :raises InvalidTransition: (409 ``invalid_transition``) the state machine forbids it.
        """
        if not self.can_become(status):
            raise InvalidTransition(self.status, status, noun="order")
        self.status = status
        self.reason = reason
        self.updated_at = now
        self.version += 1
        if status == "confirmed" and self.confirmed_at is None:
            self.confirmed_at = now
        if status in CLOSED_STATUSES:
            self.closed_at = now
            self.checkout_url = None

    def forget_buyer(self) -> bool:
        """Remove the buyer's personal data, keeping the sale; True if anything changed.
        ``placed_by`` loses the account id too when the buyer placed the order themselves
        (written ``citizen:<account id>``; a bare id by rows of early test data)."""
        changed = self.account_id is not None or self.contact_email is not None
        if self.account_id is not None and self.placed_by in (
                placed_by_of("citizen", str(self.account_id)), str(self.account_id)):
            self.placed_by = ERASED_PLACED_BY
        self.account_id = None
        self.contact_email = None
        self.erased = True
        return changed


class OrderLine(Base):
    """``quantity`` tickets of one ticket type (for one slot of a timed offering)."""

    __tablename__ = "order_lines"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str] = mapped_column(String(63))
    cost_centre: Mapped[str] = mapped_column(String(32))
    offering_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                   ForeignKey("offerings.id"))
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                      ForeignKey("ticket_types.id"))
    slot_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True),
                                                      ForeignKey("slots.id"))
    quota_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    """The quota the places were counted against when the order was placed."""
    quantity: Mapped[int] = mapped_column(Integer)
    places: Mapped[int] = mapped_column(Integer)
    """Places per ticket at the time of the order (so releases match holds)."""
    unit_price: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(255))

    @property
    def total_places(self) -> int:
        """Places this line takes in its slot."""
        return self.quantity * self.places


class OrderPaymentItem(Base):
    """What the payment request books to one department's cost centre."""

    __tablename__ = "order_payment_items"

    order_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(63))
    cost_centre: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(BigInteger)
