"""ORM models of payments, their line items and history, and received provider notifications,
with the payment state machine (migration 0002).

``Base`` is the declarative base of the whole service (other slices map their tables on it).
The state machine lives here so that no code path can skip it, and every change records its
event (written to the outbox when the unit of work commits)::

    created -> started -> succeeded | failed | cancelled | expired
    created -> cancelled | expired
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from city_shared.envelope import Event
from city_shared.errors import InvalidTransition
from city_shared.journey import JourneyContext
from city_shared.unit_of_work import RecordsEvents
from payment_service.db import metadata
from payment_service.payments import events
from payment_service.topics import PAYMENTS

__all__ = [
    "OPEN_STATUSES",
    "TERMINAL_STATUSES",
    "Base",
    "Payment",
    "PaymentHistory",
    "PaymentLineItem",
    "PaymentStatus",
    "ProviderNotification",
]

PaymentStatus = Literal["created", "started", "succeeded", "failed", "cancelled", "expired"]
OPEN_STATUSES: Final = frozenset({"created", "started"})
TERMINAL_STATUSES: Final = frozenset({"succeeded", "failed", "cancelled", "expired"})
_ALLOWED: Final[dict[str, frozenset[str]]] = {
    "created": frozenset({"started", "cancelled", "expired"}),
    "started": frozenset({"succeeded", "failed", "cancelled", "expired"}),
}


class Base(DeclarativeBase):
    """Declarative base bound to the payment service's metadata."""

    metadata = metadata


class Payment(Base, RecordsEvents):
    """One amount to collect for one reference of one source, in one tenant (an aggregate:
    its transitions record the events of ``payment.payments``)."""

    __tablename__ = "payments"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    source: Mapped[str] = mapped_column(String(100))
    reference: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(255))
    return_url: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    payer_account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payer_email: Mapped[str | None] = mapped_column(String(320))
    payer_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(32))
    provider_payment_id: Mapped[str | None] = mapped_column(String(255))
    next_url: Mapped[str | None] = mapped_column(Text)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    traceparent: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the reconciliation job last asked the provider about this open payment."""

    line_items: Mapped[list[PaymentLineItem]] = relationship(
        order_by="PaymentLineItem.position", cascade="all, delete-orphan", lazy="selectin",
        passive_deletes=True,
    )

    @property
    def journey(self) -> JourneyContext:
        """The journey the payment was created in (events it causes later stay in it)."""
        return JourneyContext(self.correlation_id, self.traceparent)

    @property
    def finished(self) -> bool:
        """True in a terminal status: nothing about this payment's outcome changes any more."""
        return self.status in TERMINAL_STATUSES

    @property
    def departments(self) -> list[str]:
        """The departments of the line items, each once, in line-item order."""
        return list(dict.fromkeys(item.department for item in self.line_items))

    def can_become(self, status: str) -> bool:
        """True if the state machine allows the change to ``status`` now."""
        return status in _ALLOWED.get(self.status, frozenset())

    def opened(self, provider_payment_id: str, next_url: str | None, *,
               caused_by: Event | None = None) -> None:
        """The provider opened this new payment (its id there, the pay page): records
        ``created`` (caused by ``caused_by``, a command, if given)."""
        self.provider_payment_id = provider_payment_id
        self.next_url = next_url
        self.record(PAYMENTS, events.payment_event(events.CREATED, self, caused_by=caused_by))

    def transition(self, status: PaymentStatus, reason: str | None, now: datetime, *,
                   caused_by: Event | None = None) -> None:
        """Change the status (and its reason) and record its event; stamps ``finished_at``
        on a terminal status.

        :raises InvalidTransition: (409 ``invalid_transition``) the state machine forbids it.
        """
        if not self.can_become(status):
            raise InvalidTransition(self.status, status, noun="payment")
        self.status = status
        self.reason = reason
        self.updated_at = now
        self.version += 1
        if status in TERMINAL_STATUSES:
            self.finished_at = now
            self.next_url = None
        self.record(PAYMENTS, events.payment_event(events.BY_STATUS[status], self,
                                                   caused_by=caused_by))

    def captured_late(self, captured_amount: int) -> None:
        """The provider took ``captured_amount`` although the payment had closed: the status
        stays; records ``late_succeeded`` (a refund of it is requested).

        :raises InvalidTransition: (409) the payment is open or succeeded (not a late success).
        """
        if not self.finished or self.status == "succeeded":
            raise InvalidTransition(self.status, "late_succeeded", noun="payment")
        self.record(PAYMENTS, events.payment_event(
            events.LATE_SUCCEEDED, self, captured_amount=captured_amount, refund_requested=True))

    def forget_payer(self) -> bool:
        """Remove the payer's personal data, keeping the booking; True if anything changed."""
        changed = any(v is not None for v in (self.payer_account_id, self.payer_email,
                                                self.payer_name))
        self.payer_account_id = None
        self.payer_email = None
        self.payer_name = None
        return changed


class PaymentLineItem(Base):
    """The part of a payment booked to one department's cost centre (XBezahldienste's
    "Buchungsdaten")."""

    __tablename__ = "payment_line_items"

    payment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payments.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(63))
    cost_centre: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(BigInteger)


class PaymentHistory(Base):
    """One entry of a payment's history: an event type, the status after it, and details."""

    __tablename__ = "payment_history"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payments.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())


class ProviderNotification(Base):
    """A notification (webhook) received from a provider, kept for replay protection."""

    __tablename__ = "provider_notifications"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    notification_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    kind: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())
