"""ORM model of refunds (migration 0002) with their state machine::

    submitted -> succeeded | failed

A refund holds its amount against the payment from the moment it is submitted, so the amount
still refundable is ``payment.amount - payment.refunded_amount - <submitted refunds>``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from city_shared.errors import InvalidTransition
from city_shared.unit_of_work import RecordsEvents
from payment_service.payments.models import Base, Payment
from payment_service.refunds import events
from payment_service.topics import PAYMENTS

__all__ = ["REFUND_FINAL", "Refund", "RefundStatus"]

RefundStatus = Literal["submitted", "succeeded", "failed"]
REFUND_FINAL: Final = frozenset({"succeeded", "failed"})


class Refund(Base, RecordsEvents):
    """Money paid back for (part of) one payment (an aggregate: finishing it records its
    event)."""

    __tablename__ = "refunds"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    payment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payments.id", ondelete="CASCADE")
    )
    tenant: Mapped[str] = mapped_column(String(63))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    requested_by: Mapped[str] = mapped_column(String(100))
    line_positions: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    """The line items (positions) the refund pays back; None: all of the payment's."""
    provider_refund_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def finished(self) -> bool:
        """True once the provider confirmed or rejected the refund."""
        return self.status in REFUND_FINAL

    def finish(self, payment: Payment, status: RefundStatus, now: datetime,
               shares: list[events.RefundedItem] | None = None) -> None:
        """Move a submitted refund of ``payment`` (locked) to ``succeeded`` (the payment's
        ``refunded_amount`` grows by it) or ``failed``, raise the payment's version and record
        the refund's event; ``shares``: what the ledger took back from each line item.

        :raises InvalidTransition: (409) the refund is already final.
        """
        if self.finished or status not in REFUND_FINAL:
            raise InvalidTransition(self.status, status)
        self.status = status
        self.finished_at = now
        if status == "succeeded":
            payment.refunded_amount += self.amount
        payment.version += 1
        payment.updated_at = now
        type_ = events.REFUND_SUCCEEDED if status == "succeeded" else events.REFUND_FAILED
        self.record(PAYMENTS, events.refund_event(type_, payment, self,
                                                  shares if status == "succeeded" else None))
