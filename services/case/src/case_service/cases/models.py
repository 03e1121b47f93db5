"""ORM models of cases (migration 0003): the case, its per-tenant yearly number counter and its
history (one row per status change or event, the citizen's timeline and the sender's log).

A case keeps the definition version and the parameter version it was submitted under, and a
copy of the form data and fee quote, so a later library or parameter change never alters it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from case_service.cases import events, payments
from case_service.cases.payments import REQUESTS_TOPIC, LineItem, payment_request
from case_service.db import Base
from case_service.topics import CASES
from case_service.workflow.audit import SYSTEM, audit_entry, snapshot
from case_service.workflow.models import AuditEntry
from city_shared.envelope import Event
from city_shared.errors import InvalidTransition
from city_shared.journey import JourneyContext
from city_shared.unit_of_work import RecordsEvents

__all__ = ["Case", "CaseHistory", "CaseNumberCounter", "CaseStatus", "PaymentOutcome"]

CaseStatus = Literal["awaiting_payment", "submitted"]
"""The states a case is opened in; later ones are the process's (:mod:`case_service.process`)."""
PaymentOutcome = Literal["failed", "cancelled", "expired"]


class Case(RecordsEvents, Base):
    """A submitted application (an aggregate: its transitions record the events of
    ``case.cases`` and the commands to payment)."""

    __tablename__ = "cases"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True,
                                          default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    department: Mapped[str] = mapped_column(String(63))
    number: Mapped[str] = mapped_column(String(32))
    """Human-readable, per tenant and year: ``MS-2026-000123``."""
    service_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("services.id"))
    definition_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                     ForeignKey("service_definitions.id"))
    definition_version: Mapped[int] = mapped_column(Integer)
    parameters_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                     ForeignKey("service_parameters.id"))
    parameters_version: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    """The applicant's account; None for an anonymous report or after the account was erased."""
    submitted_by: Mapped[str] = mapped_column(String(100))
    """``citizen:<id>``, ``client:<id>`` or ``anonymous``."""
    channel: Mapped[str] = mapped_column(String(16))
    """``online`` (a draft), ``partner`` (a city system), ``intake`` (FIT-Connect-shaped),
    ``open311``."""
    status: Mapped[str] = mapped_column(String(24))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    verified: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    locale: Mapped[str] = mapped_column(String(5), default="de")
    fee_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    """What is due on submission, in minor units (0: nothing to pay now)."""
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    fee: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """The fee quote as computed on submission (lines, exemption, collect, period)."""
    reference: Mapped[str] = mapped_column(String(255))
    """``case/case/<id>``: the payment's reference."""
    payment_status: Mapped[str | None] = mapped_column(String(16))
    """None (no fee), ``requested``, ``pending``, ``paid``, ``failed``, ``expired``."""
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    checkout_url: Mapped[str | None] = mapped_column(String(2048))
    draft_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    traceparent: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                   server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    retain_until: Mapped[date] = mapped_column(Date)
    """The retention period ends here; then the purge job deletes the file."""
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the applicant's account was erased (the link is gone, the file stays)."""
    assignee: Mapped[str | None] = mapped_column(String(100))
    """The staff member working the case (their account id, ``sub``), or None."""
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """The target date of the decision: submission + the definition's processing days
    (working days, Monday to Friday)."""
    state_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """The deadline of the current state (e.g. the answer to a request for information), or
    None; the deadline job acts on it as the process says."""
    applicant_name: Mapped[str | None] = mapped_column(String(200))
    """Given and family name of the applicant as submitted, for staff's text search."""
    decision: Mapped[str | None] = mapped_column(String(16))
    """``approved`` or ``rejected`` once decided."""
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """What an approval grants (e.g. ``permit_number``, ``valid_until``), or None."""
    refund_status: Mapped[str | None] = mapped_column(String(16))
    """None, or ``requested`` once the paid fee was asked back from payment (withdrawal)."""
    audit_trail: WriteOnlyMapped[AuditEntry] = relationship(passive_deletes=True)
    """The case's audit entries; its own transitions add theirs here (written on flush)."""

    @property
    def journey(self) -> JourneyContext:
        """The journey the case was submitted in (payment answers continue it)."""
        return JourneyContext(self.correlation_id, self.traceparent)

    @property
    def payment_attempt(self) -> int:
        """The number of the current payment attempt (1: the first; see
        :mod:`case_service.cases.payments`)."""
        tail = self.reference.rsplit("/", 1)[-1]
        return int(tail) if tail.isdigit() else 1

    def _history(self, type_: str, now: datetime, **detail: object) -> CaseHistory:
        return CaseHistory(case_id=self.id, type=type_, status=self.status, at=now,
                           detail={k: v for k, v in detail.items() if v is not None})

    def _touch(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now

    def touch(self, now: datetime) -> None:
        """A change of the case by the workflow: a new version (the ETag), ``updated_at``."""
        self._touch(now)

    def history(self, type_: str, now: datetime, **detail: object) -> CaseHistory:
        """The history row (not yet added) of ``type_`` with the current status; ``detail``
        without None values, and never personal data."""
        return self._history(type_, now, **detail)

    def _audit(self, action: str, before: dict[str, Any] | None, now: datetime, *,
               actor: str = SYSTEM, **after: object) -> None:
        self.audit_trail.add(audit_entry(self, actor=actor, action=action, before=before,
                                         after={**snapshot(self), **after}, at=now))

    def submit(self, *, leika_key: str, items: list[LineItem], description: str,
               return_url: str | None, now: datetime) -> list[CaseHistory]:
        """The new case is opened: records ``case.submitted`` and, if a fee is due now, the
        payment command; returns its history rows (``submitted``, ``payment_requested``) for
        the caller to add. The status must already be ``awaiting_payment`` exactly when
        ``fee_amount`` > 0, else ``submitted``.

        :raises InvalidTransition: the status does not fit the fee.
        """
        expected: CaseStatus = "awaiting_payment" if self.fee_amount > 0 else "submitted"
        if self.status != expected:
            raise InvalidTransition(self.status, expected, noun="case")
        self.record(CASES, events.case_event(
            events.SUBMITTED, self, leika_key=leika_key,
            definition_version=self.definition_version,
            parameters_version=self.parameters_version, channel=self.channel,
            submitted_at=self.submitted_at))
        rows = [self._history("submitted", now, channel=self.channel,
                              definition_version=self.definition_version,
                              parameters_version=self.parameters_version)]
        if self.fee_amount > 0:
            self.payment_status = "requested"
            self.record(REQUESTS_TOPIC, payment_request(
                self, attempt=1, items=items, description=description, return_url=return_url))
            rows.append(self._history("payment_requested", now, amount=self.fee_amount,
                                      currency=self.currency, attempt=1))
        self._audit("submit", None, now, actor=self.submitted_by, channel=self.channel,
                    fee_amount=self.fee_amount, payment_status=self.payment_status)
        return rows

    def payment_created(self, payment_id: uuid.UUID, checkout_url: str | None,
                        now: datetime) -> CaseHistory | None:
        """Payment opened the requested payment: remember it and its checkout page while the
        fee is unpaid. None (nothing changed) if it is known already or the case was paid."""
        if self.status != "awaiting_payment" or self.payment_status != "requested":
            return None
        before = snapshot(self, "payment_status")
        self.payment_id = payment_id
        self.checkout_url = checkout_url
        self.payment_status = "pending"
        self._touch(now)
        self._audit("payment_created", before, now, payment_status=self.payment_status,
                    payment_id=str(payment_id))
        return self._history("payment_created", now, payment_id=str(payment_id))

    def paid(self, payment_id: uuid.UUID, now: datetime, *,
             caused_by: Event | None = None) -> CaseHistory | None:
        """``awaiting_payment`` -> ``submitted``: records ``case.paid``. None (nothing
        changed) if the case is paid already."""
        if self.status != "awaiting_payment":
            return None
        before = snapshot(self, "payment_status")
        self.status = "submitted"
        self.payment_status = "paid"
        self.payment_id = payment_id
        self.checkout_url = None
        self._touch(now)
        self._audit("paid", before, now, payment_status=self.payment_status,
                    payment_id=str(payment_id))
        self.record(CASES, events.case_event(events.PAID, self, caused_by=caused_by,
                                             payment_id=payment_id))
        return self._history("paid", now, payment_id=str(payment_id))

    def payment_ended(self, outcome: PaymentOutcome, payment_id: uuid.UUID,
                      reason: str | None, now: datetime, *,
                      caused_by: Event | None = None) -> CaseHistory | None:
        """The current payment ended without money: the case stays ``awaiting_payment``,
        records ``case.payment_failed``. None (nothing changed) if the case is paid or this
        attempt's end is known already."""
        if self.status != "awaiting_payment" or self.payment_status not in ("requested",
                                                                             "pending"):
            return None
        before = snapshot(self, "payment_status")
        self.payment_status = "expired" if outcome == "expired" else "failed"
        self.payment_id = payment_id
        self.checkout_url = None
        self._touch(now)
        self._audit("payment_failed", before, now, payment_status=self.payment_status,
                    payment_id=str(payment_id))
        self.record(CASES, events.case_event(
            events.PAYMENT_FAILED, self, caused_by=caused_by, payment_id=payment_id,
            payment_status=outcome, reason=reason))
        return self._history("payment_failed", now, payment_id=str(payment_id),
                             outcome=outcome, reason=reason)

    def request_payment_again(self, *, items: list[LineItem], description: str,
                              return_url: str | None, now: datetime,
                              actor: str | None = None) -> CaseHistory:
        """After a failed or expired payment: a new attempt (new reference and request id)
        and its payment command; ``actor`` (default: who submitted) is audited.

        :raises InvalidTransition: (409) the case is paid, or its payment is still open.
        """
        if self.status != "awaiting_payment" or self.payment_status not in ("failed",
                                                                             "expired"):
            raise InvalidTransition(f"{self.status}/{self.payment_status}",
                                    "payment_requested", noun="case")
        attempt = self.payment_attempt + 1
        before = snapshot(self, "payment_status")
        self.reference = payments.payment_reference(self.id, attempt)
        self.payment_status = "requested"
        self.payment_id = None
        self.checkout_url = None
        self._touch(now)
        self._audit("request_payment_again", before, now, actor=actor or self.submitted_by,
                    payment_status=self.payment_status, attempt=attempt)
        self.record(REQUESTS_TOPIC, payment_request(
            self, attempt=attempt, items=items, description=description,
            return_url=return_url))
        return self._history("payment_requested", now, amount=self.fee_amount,
                             currency=self.currency, attempt=attempt)


class CaseNumberCounter(Base):
    """The last case number given out per tenant and year (row-locked while counting)."""

    __tablename__ = "case_number_counters"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class CaseHistory(Base):
    """One entry of a case's history: what happened, when, the status after it."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                               ForeignKey("cases.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    """E.g. ``submitted``, ``payment_requested``, ``paid``."""
    status: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    """No personal data: ids, amounts, codes."""
