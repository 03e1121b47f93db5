"""ORM models of orders, their lines and payment items (migration 0002), with the order state
machine, so that no code path can skip it::

    awaiting_payment -> confirmed | cancelled | expired
    confirmed -> cancellation_requested -> refunded
    cancellation_requested -> confirmed          (the refund failed)

``cancelled``: payment failed or was cancelled; ``expired``: hold or payment timed out;
``refunded``: the citizen cancelled and the money is back. Capacity is held while
``awaiting_payment``, sold while ``confirmed`` / ``cancellation_requested`` and released on the
way to any other status.

:class:`Order` is an aggregate: each transition method checks the state machine and records
its event (``ticketing.orders``) or command (``payment.requests``); the unit of work writes
them to the outbox when it commits (ADR 0011). The use cases in
:mod:`ticketing_service.orders.service` move the places and issue or void the tickets.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from city_shared.envelope import Event
from city_shared.errors import InvalidTransition
from city_shared.journey import JourneyContext
from city_shared.unit_of_work import RecordsEvents
from ticketing_service.db import Base
from ticketing_service.orders import events
from ticketing_service.orders.events import LineSummary
from ticketing_service.orders.payments import (
    LATE_PAYMENT_REFUND,
    REQUESTS_TOPIC,
    payment_request,
    refund_request,
)
from ticketing_service.tickets.schemas import IssuedTicket
from ticketing_service.topics import ORDERS

__all__ = [
    "CLOSED_STATUSES",
    "LATE_PAYMENT_REFUNDED",
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
LATE_PAYMENT_REFUNDED: Final = "late_payment_refunded"
"""The ``reason`` of a closed order whose late payment was paid back."""
_ALLOWED: Final[dict[str, frozenset[str]]] = {
    "awaiting_payment": frozenset({"confirmed", "cancelled", "expired"}),
    "confirmed": frozenset({"cancellation_requested"}),
    "cancellation_requested": frozenset({"refunded", "confirmed"}),
}


class Order(RecordsEvents, Base):
    """A basket of tickets of one tenant, possibly of several departments, paid at once (an
    aggregate: its transitions record the events of ``ticketing.orders`` and the commands to
    payment)."""

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

    def require(self, status: OrderStatus) -> None:
        """Refuse a change the state machine does not allow now.

        :raises InvalidTransition: (409 ``invalid_transition``) the state machine forbids it.
        """
        if not self.can_become(status):
            raise InvalidTransition(self.status, status, noun="order")

    def transition(self, status: OrderStatus, reason: str | None, now: datetime) -> None:
        """Change the status (and its reason); stamps ``confirmed_at`` / ``closed_at``. The
        changes that publish something go through the methods below.

        :raises InvalidTransition: (409 ``invalid_transition``) the state machine forbids it.
        """
        self.require(status)
        self.status = status
        self.reason = reason
        self.updated_at = now
        self.version += 1
        if status == "confirmed" and self.confirmed_at is None:
            self.confirmed_at = now
        if status in CLOSED_STATUSES:
            self.closed_at = now
            self.checkout_url = None

    def touch(self, now: datetime) -> None:
        """A change outside the state machine: a new ``version``, ``updated_at`` = ``now``."""
        self.version += 1
        self.updated_at = now

    def place(self, *, lines: list[LineSummary], payment_description: str) -> None:
        """The new order (``awaiting_payment``, its places held) is placed: records
        ``order.placed`` and, unless it is free, the payment command for its total.

        :raises InvalidTransition: the order is not a new unpaid one.
        """
        if self.status != "awaiting_payment":
            raise InvalidTransition(self.status, "awaiting_payment", noun="order")
        self.record(ORDERS, events.order_event(events.PLACED, self, lines=lines))
        if self.total > 0:
            self.record(REQUESTS_TOPIC, payment_request(
                self, description=payment_description, return_url=self.return_url))

    def confirm(self, now: datetime, *, lines: list[LineSummary], tickets: list[IssuedTicket],
                caused_by: Event | None = None) -> None:
        """``awaiting_payment`` -> ``confirmed`` (paid, or free): records ``order.confirmed``
        with ``tickets``.

        :raises InvalidTransition: the order is not awaiting payment (a pending cancellation
            whose refund failed goes back to ``confirmed`` through :meth:`refund_failed`).
        """
        if not self.holds_capacity:
            raise InvalidTransition(self.status, "confirmed", noun="order")
        self.transition("confirmed", None, now)
        self.record(ORDERS, events.order_event(events.CONFIRMED, self, lines=lines,
                                               caused_by=caused_by, tickets=tickets))

    def close_unpaid(self, status: Literal["cancelled", "expired"], reason: str,
                     now: datetime, *, lines: list[LineSummary],
                     caused_by: Event | None = None) -> None:
        """``awaiting_payment`` -> ``cancelled`` / ``expired``: records ``order.cancelled`` /
        ``order.expired``.

        :raises InvalidTransition: the order is not awaiting payment.
        """
        self.transition(status, reason, now)
        self.record(ORDERS, events.order_event(
            events.CANCELLED if status == "cancelled" else events.EXPIRED, self, lines=lines,
            caused_by=caused_by))

    def request_cancellation(self, reason: str, now: datetime) -> int:
        """``confirmed`` -> ``cancellation_requested``; returns what is still to be paid back
        (the total less what was refunded already) and, if that is above 0, records the refund
        command for it.

        :raises InvalidTransition: the order is not confirmed.
        """
        occasion = f"cancel:{self.version}"
        outstanding = self.total - self.refunded_amount
        self.transition("cancellation_requested", reason, now)
        if outstanding > 0:
            self.record(REQUESTS_TOPIC, refund_request(self, outstanding, reason=reason,
                                                       occasion=occasion))
        return outstanding

    def refund(self, refunded_amount: int, now: datetime, *, lines: list[LineSummary],
               caused_by: Event | None = None) -> None:
        """``cancellation_requested`` -> ``refunded``: records ``order.refunded``.

        :raises InvalidTransition: no cancellation is pending.
        """
        self.transition("refunded", self.reason, now)
        self.refunded_amount = max(self.refunded_amount, refunded_amount)
        self.record(ORDERS, events.order_event(events.REFUNDED, self, lines=lines,
                                               caused_by=caused_by))

    def refund_failed(self, now: datetime) -> None:
        """``cancellation_requested`` -> ``confirmed`` (reason ``refund_failed``): the refund
        failed, the tickets admit again; nothing is published.

        :raises InvalidTransition: no cancellation is pending.
        """
        if self.status != "cancellation_requested":
            raise InvalidTransition(self.status, "confirmed", noun="order")
        self.transition("confirmed", "refund_failed", now)

    def refund_late_payment(self, amount: int, payment_id: uuid.UUID, now: datetime, *,
                            caused_by: Event | None = None) -> bool:
        """A payment of ``amount`` arrived after the order closed unpaid: the order stays
        closed and records the command to pay it back, once (``reason`` becomes
        ``late_payment_refunded``). False (nothing recorded) if the order is not closed
        unpaid or was paid back already."""
        if self.status not in ("expired", "cancelled") or self.reason == LATE_PAYMENT_REFUNDED:
            return False
        self.record(REQUESTS_TOPIC, refund_request(
            self, amount, reason=LATE_PAYMENT_REFUND, occasion=f"late:{payment_id}",
            caused_by=caused_by))
        self.reason = LATE_PAYMENT_REFUNDED
        self.touch(now)
        return True

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
