"""Inbound events of the cases slice: payment's answers on ``payment.payments``, with narrow
models of what they read (payment owns the contract; the names are repeated here, services
never import each other).

- ``payment.created``: remember the payment and its checkout page (``payment_status``
  ``pending``): ``GET /cases/{id}/pay`` redirects there; records ``case.payment_due`` (the pay
  link) once per attempt.
- ``payment.succeeded``: the case is paid: ``submitted``, records ``case.paid``. Exactly one
  payment pays a case's fee: a success of an earlier attempt, or of any payment arriving when
  the case no longer awaits payment and was not paid by it (paid by another attempt,
  withdrawn), is paid back in full (``city.payment.refund.request.v1``, once per payment; see
  :mod:`case_service.cases.refunds`).
- ``payment.failed`` / ``payment.cancelled`` / ``payment.expired``: ``payment_status``
  ``failed`` / ``expired``, records ``case.payment_failed``; the case stays
  ``awaiting_payment`` and the applicant may ask for a new payment.
- ``refund.succeeded`` / ``refund.failed``: a history row; for the paid fee's payment,
  ``refund_status`` ``refunded`` / ``failed``.

``payment.payments`` carries every service's payments: events whose ``data.source`` is not
``case`` are skipped, in memory before any transaction (each subscription's ``accepts``, see
:func:`ours`: no inbox row, no statement); data that does not validate still reaches the
handler and is dead-lettered. Every answer is checked before it changes anything: it comes from
``/payment``, its reference is ``case/case/<id>[/<attempt>]`` of a case of the event's tenant
that asked for a payment (this attempt or an earlier one), the amount and currency are the
case's fee, the payment id of the current attempt is the one named first. A mismatch (a forged
or misrouted event) changes nothing, is logged and raises :class:`PermanentFailure`: a dead
letter. Other answers about an earlier attempt (the applicant asked again since) are logged and
ignored. Every handler locks the case row and decides by its state and history, so a second
delivery, also one running at the same time, changes nothing.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases import events, refunds, repository
from case_service.cases.models import Case, CaseHistory, PaymentOutcome
from case_service.settings import CaseSettings
from case_service.topics import CASES
from city_shared.consumer import Accepts, Handler, PermanentFailure, Subscription, only_where
from city_shared.envelope import Event

__all__ = [
    "PAYMENTS_TOPIC",
    "PAYMENT_CANCELLED",
    "PAYMENT_CREATED",
    "PAYMENT_EXPIRED",
    "PAYMENT_FAILED",
    "PAYMENT_SUCCEEDED",
    "REFUND_FAILED",
    "REFUND_SUCCEEDED",
    "build_case_subscriptions",
    "on_payment_succeeded",
    "ours",
    "payment_created_handler",
    "payment_ended_handler",
    "refund_answer_handler",
]

log = logging.getLogger(__name__)

PAYMENTS_TOPIC: Final = "payment.payments"
PAYMENT_CREATED: Final = "city.payment.payment.created.v1"
PAYMENT_SUCCEEDED: Final = "city.payment.payment.succeeded.v1"
PAYMENT_FAILED: Final = "city.payment.payment.failed.v1"
PAYMENT_CANCELLED: Final = "city.payment.payment.cancelled.v1"
PAYMENT_EXPIRED: Final = "city.payment.payment.expired.v1"
REFUND_SUCCEEDED: Final = "city.payment.refund.succeeded.v1"
REFUND_FAILED: Final = "city.payment.refund.failed.v1"
#: Payment's ``source`` of payments this service requested.
OUR_SOURCE: Final = "case"
#: The CloudEvents ``source`` of payment's events.
PAYMENT_SOURCE: Final = "/payment"
_REFERENCE: Final = re.compile(r"^case/case/([0-9a-f-]{36})(?:/([0-9]{1,6}))?$")


class _Answer(BaseModel):
    """What every payment and refund event carries that cases read."""

    model_config = ConfigDict(extra="ignore")

    tenant: str
    source: str
    reference: str
    payment_id: uuid.UUID
    amount: int
    currency: str
    reason: str | None = None


class _PaymentData(_Answer):
    """A payment event."""


class _PaymentCreatedData(_PaymentData):
    next_url: str | None = None


class _RefundData(_Answer):
    """A refund event (``reason``: the requester's code, or staff's text at payment)."""

    refund_id: uuid.UUID
    refunded_amount: int
    requested_by: str = "source"


def ours(model: type[_Answer]) -> Accepts:
    """A subscription's filter that turns down exactly what its handler, reading the data as
    ``model``, skips before any statement: valid data of another service's payment
    (``data.source`` not ours); data that does not validate passes and is dead-lettered."""
    return only_where(model, "source", OUR_SOURCE)


def _now() -> datetime:
    return datetime.now(UTC)


def _refuse(event: Event, why: str, case: Case | None = None) -> PermanentFailure:
    log.warning("payment answer does not match a case's payment; dead-lettered",
                extra={"event_id": str(event.id), "event_type": event.type,
                       "case_id": str(case.id) if case else None, "mismatch": why})
    return PermanentFailure(f"the answer does not match a case's payment: {why}")


async def _locate(session: AsyncSession, event: Event,
                  data: _Answer) -> tuple[Case, bool] | None:
    """The case the answer is about, row locked, and whether the answer is about its current
    attempt (False: an earlier one), after the checks every answer passes (see the module);
    None if the payment is another service's.

    :raises PermanentFailure: forged or mismatched.
    """
    if data.source != OUR_SOURCE:
        return None
    if event.source != PAYMENT_SOURCE:
        raise _refuse(event, "source")
    if data.tenant != event.tenant:
        raise _refuse(event, "tenant")
    match = _REFERENCE.match(data.reference)
    case_id = _uuid(match.group(1)) if match else None
    case = await repository.lock(session, data.tenant, case_id) if case_id else None
    if case is None or match is None:
        raise _refuse(event, "reference")
    attempt = int(match.group(2) or 1)
    wrong = [name for name, bad in (
        ("reference", case.fee_amount <= 0 or case.payment_status is None
         or attempt > case.payment_attempt or (attempt == 1 and match.group(2) is not None)),
        ("currency", data.currency != case.currency),
    ) if bad]
    if wrong:
        raise _refuse(event, ", ".join(wrong), case)
    return case, data.reference == case.reference


def _check_payment(event: Event, case: Case, data: _PaymentData, current: bool) -> None:
    """A payment's amount is the fee; the current attempt's payment is the one named first.

    :raises PermanentFailure: mismatched."""
    wrong = [name for name, bad in (
        ("amount", data.amount != case.fee_amount),
        ("payment_id", current and case.payment_id is not None
         and data.payment_id != case.payment_id),
    ) if bad]
    if wrong:
        raise _refuse(event, ", ".join(wrong), case)


def _earlier(event: Event, case: Case) -> None:
    log.info("payment answer about an earlier payment attempt of a case; ignored",
             extra={"event_id": str(event.id), "event_type": event.type,
                    "case_id": str(case.id)})


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _keep(session: AsyncSession, row: CaseHistory | None) -> None:
    if row is not None:
        session.add(row)


def payment_created_handler(settings: CaseSettings) -> Handler:
    """The handler of ``payment.created`` (the pay link needs the public base URL)."""

    async def on_payment_created(session: AsyncSession, event: Event) -> None:
        """Remember the payment and its checkout page while unpaid and record
        ``case.payment_due`` with the pay link, once. Idempotent."""
        data = event.parse(_PaymentCreatedData)
        found = await _locate(session, event, data)
        if found is None:
            return
        case, current = found
        _check_payment(event, case, data, current)
        if not current:
            _earlier(event, case)
            return
        row = case.payment_created(data.payment_id, data.next_url, _now())
        if row is None:
            return
        session.add(row)
        if case.checkout_url:
            case.record(CASES, events.case_event(
                events.PAYMENT_DUE, case, caused_by=event, payment_id=data.payment_id,
                pay_url=f"{settings.base_url}/cases/{case.id}/pay"))

    return on_payment_created


async def on_payment_succeeded(session: AsyncSession, event: Event) -> None:
    """The fee is paid: the case is ``submitted``; money the case does not need (see the
    module) is paid back, once per payment. Idempotent, also under concurrent delivery."""
    data = event.parse(_PaymentData)
    found = await _locate(session, event, data)
    if found is None:
        return
    case, current = found
    _check_payment(event, case, data, current)
    now = _now()
    if current and case.status == "awaiting_payment":
        _keep(session, case.paid(data.payment_id, now, caused_by=event))
    elif not (current and case.payment_status == "paid" and case.payment_id == data.payment_id):
        await refunds.refund_unneeded_payment(
            session, case, payment_id=data.payment_id, reference=data.reference,
            amount=data.amount, now=now, caused_by=event)


def payment_ended_handler(
    outcome: PaymentOutcome,
) -> Callable[[AsyncSession, Event], Awaitable[None]]:
    """The handler of a payment that ended without money (``outcome``)."""

    async def on_payment_ended(session: AsyncSession, event: Event) -> None:
        data = event.parse(_PaymentData)
        found = await _locate(session, event, data)
        if found is None:
            return
        case, current = found
        _check_payment(event, case, data, current)
        if not current:
            _earlier(event, case)
            return
        _keep(session, case.payment_ended(outcome, data.payment_id, data.reason or outcome,
                                          _now(), caused_by=event))

    return on_payment_ended


def refund_answer_handler(outcome: Literal["succeeded", "failed"]) -> Handler:
    """The handler of payment's answer about a refund of one of a case's payments."""

    async def on_refund_answered(session: AsyncSession, event: Event) -> None:
        data = event.parse(_RefundData)
        found = await _locate(session, event, data)
        if found is None:
            return
        case, _ = found
        if not 0 < data.amount <= case.fee_amount or not 0 <= data.refunded_amount \
                <= case.fee_amount:
            raise _refuse(event, "amount", case)
        await refunds.apply_refund_answer(
            session, case, outcome, refund_id=data.refund_id, payment_id=data.payment_id,
            amount=data.amount, refunded_amount=data.refunded_amount,
            requested_by=data.requested_by, reason=data.reason, now=_now())

    return on_refund_answered


def build_case_subscriptions(settings: CaseSettings) -> tuple[Subscription, ...]:
    """The payment outcomes a case waits for, and the answers about its refunds; other
    services' payments are turned down before any transaction (:func:`ours`)."""
    payments = ours(_PaymentData)
    refunds_ = ours(_RefundData)
    return (
        Subscription(PAYMENTS_TOPIC, PAYMENT_CREATED, payment_created_handler(settings),
                     accepts=ours(_PaymentCreatedData)),
        Subscription(PAYMENTS_TOPIC, PAYMENT_SUCCEEDED, on_payment_succeeded, accepts=payments),
        Subscription(PAYMENTS_TOPIC, PAYMENT_FAILED, payment_ended_handler("failed"),
                     accepts=payments),
        Subscription(PAYMENTS_TOPIC, PAYMENT_CANCELLED, payment_ended_handler("cancelled"),
                     accepts=payments),
        Subscription(PAYMENTS_TOPIC, PAYMENT_EXPIRED, payment_ended_handler("expired"),
                     accepts=payments),
        Subscription(PAYMENTS_TOPIC, REFUND_SUCCEEDED, refund_answer_handler("succeeded"),
                     accepts=refunds_),
        Subscription(PAYMENTS_TOPIC, REFUND_FAILED, refund_answer_handler("failed"),
                     accepts=refunds_),
    )
