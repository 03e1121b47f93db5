"""ORM models of messages and their deliveries (migration 0002), with the delivery state
machine::

    created -> sending -> delivered
                       -> temporary_failure -> sending -> ... (bounded attempts)
                       -> permanent_failure
    created -> permanent_failure        (nothing to send to, template cannot render)
    skipped_opted_out                   (final at once: the person opted out of the channel)

A message is one thing to tell one person (from an event and a rule, a command, or the REST
API); it has one delivery per channel. ``dedup_key`` makes a message unique per tenant: the
same event and rule, the same request id, or the same client and idempotency key never make a
second message.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from city_shared.envelope import Event
from city_shared.errors import InvalidTransition
from city_shared.journey import JourneyContext
from city_shared.unit_of_work import RecordsEvents
from notification_service.db import Base
from notification_service.deliveries import events
from notification_service.topics import DELIVERIES

__all__ = ["FINAL_STATUSES", "OPEN_STATUSES", "Delivery", "DeliveryStatus", "InvalidTransition",
           "Message", "Origin"]

DeliveryStatus = Literal["created", "sending", "delivered", "temporary_failure",
                         "permanent_failure", "skipped_opted_out"]
Origin = Literal["event", "request", "api"]
OPEN_STATUSES: Final = frozenset({"created", "sending", "temporary_failure"})
FINAL_STATUSES: Final = frozenset({"delivered", "permanent_failure", "skipped_opted_out"})
_ALLOWED: Final[dict[str, frozenset[str]]] = {
    "created": frozenset({"sending", "permanent_failure"}),
    "sending": frozenset({"sending", "delivered", "temporary_failure", "permanent_failure"}),
    "temporary_failure": frozenset({"sending", "permanent_failure"}),
}
#: The statuses a delivery starts in (``skipped_opted_out`` and ``permanent_failure`` are final).
_INITIAL: Final = frozenset({"created", "permanent_failure", "skipped_opted_out"})




class Message(Base):
    """One thing to tell one person, rendered from one template version."""

    __tablename__ = "messages"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str | None] = mapped_column(String(63))
    dedup_key: Mapped[str] = mapped_column(String(400))
    origin: Mapped[str] = mapped_column(String(16))
    source_event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    event_type: Mapped[str | None] = mapped_column(String(200))
    rule_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    client_id: Mapped[str | None] = mapped_column(String(255))
    reference: Mapped[str | None] = mapped_column(String(255))
    template_key: Mapped[str] = mapped_column(String(100))
    template_version: Mapped[int | None] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(8))
    recipient_account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    legally_required: Mapped[bool] = mapped_column(Boolean)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    traceparent: Mapped[str | None] = mapped_column(String(64))
    """The journey the message belongs to: delivery events sent later by the worker stay in
    it (same correlation id, same trace)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    @property
    def journey(self) -> JourneyContext:
        return JourneyContext(self.correlation_id, self.traceparent)

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="message", order_by="Delivery.channel", lazy="selectin",
        cascade="all, delete-orphan", passive_deletes=True,
    )


class Delivery(Base, RecordsEvents):
    """One message on one channel. ``address`` (e-mail or phone) and ``content`` (the rendered
    texts) are personal data, removed when the account is erased. While ``sending``,
    ``next_attempt_at`` is the end of the sender's lease."""

    __tablename__ = "deliveries"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    message_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("messages.id", ondelete="CASCADE"))
    tenant: Mapped[str] = mapped_column(String(63))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    address: Mapped[str | None] = mapped_column(String(320))
    content: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    message: Mapped[Message] = relationship(back_populates="deliveries", lazy="selectin")

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def open(
        cls, message: Message, channel: str, now: datetime, *, status: DeliveryStatus,
        reason: str | None, address: str | None, content: dict[str, Any] | None,
        caused_by: Event | None = None,
    ) -> Delivery:
        """A new delivery of ``message`` on ``channel``, due at once when ``created``; records
        ``created`` and, for one that fails at once (``permanent_failure``), ``failed``. The
        address and content are kept only when there is something to send.

        :raises InvalidTransition: ``status`` is no status a delivery starts in.
        """
        if status not in _INITIAL:
            raise InvalidTransition("new", status, noun="delivery")
        sendable = status == "created"
        delivery = cls(
            id=uuid.uuid4(), message_id=message.id, tenant=message.tenant, channel=channel,
            status=status, reason=reason, attempts=0,
            address=address if sendable else None, content=content if sendable else None,
            next_attempt_at=now if sendable else None, created_at=now, updated_at=now,
        )
        delivery._record(events.CREATED, message, caused_by)
        if status == "permanent_failure":
            delivery._record(events.FAILED, message, caused_by)
        return delivery

    def claim(self, now: datetime, *, lease_until: datetime, max_attempts: int) -> bool:
        """Take the delivery for one more attempt (``sending`` until ``lease_until``); True if
        it is to be sent. One that used up its ``max_attempts`` or has nothing to send fails
        instead (``max_attempts``, ``no_content``: recorded ``failed``) and False is returned.

        :raises InvalidTransition: the delivery is not open.
        """
        if self.attempts >= max_attempts or self.content is None:
            self.fail(now, "max_attempts" if self.content is not None else "no_content")
            return False
        self._move("sending", now, reason=self.reason, next_attempt_at=lease_until)
        self.attempts += 1
        return True

    def deliver(self, now: datetime) -> None:
        """The channel accepted it: ``delivered``, recorded.

        :raises InvalidTransition: it was not being sent.
        """
        self._move("delivered", now)
        self._record(events.DELIVERED, self.message)

    def attempt_failed(self, now: datetime, reason: str, *, permanent: bool, max_attempts: int,
                       retry_at: datetime) -> None:
        """The channel refused this attempt: ``temporary_failure`` until ``retry_at``, or
        ``permanent_failure`` (recorded) when the error is ``permanent`` or this was the last
        of ``max_attempts``.

        :raises InvalidTransition: it was not being sent.
        """
        if permanent or self.attempts >= max_attempts:
            self.fail(now, reason)
        else:
            self._move("temporary_failure", now, reason=reason, next_attempt_at=retry_at)

    def fail(self, now: datetime, reason: str, *, caused_by: Event | None = None) -> None:
        """It will not be delivered: ``permanent_failure`` with ``reason``, recorded.

        :raises InvalidTransition: it is finished already.
        """
        self._move("permanent_failure", now, reason=reason)
        self._record(events.FAILED, self.message, caused_by)

    def _move(self, status: DeliveryStatus, now: datetime, *, reason: str | None = None,
              next_attempt_at: datetime | None = None) -> None:
        """Change the status as the state machine allows.

        :raises InvalidTransition: it does not (e.g. a delivered delivery sent again).
        """
        if status not in _ALLOWED.get(self.status, frozenset()):
            raise InvalidTransition(self.status, status, noun="delivery")
        self.status = status
        self.reason = reason
        self.updated_at = now
        self.next_attempt_at = next_attempt_at
        if status == "delivered":
            self.delivered_at = now

    def _record(self, type_: str, message: Message, caused_by: Event | None = None) -> None:
        """Record the event ``type_`` about this delivery in its current state."""
        self.record(DELIVERIES, events.delivery_event(type_, self, message,
                                                      caused_by=caused_by))
