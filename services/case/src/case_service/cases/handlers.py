"""Inbound events of the cases slice: payment's answers on ``payment.payments``, with narrow
models of what they read (payment owns the contract; the names are repeated here, services
never import each other).

- ``payment.created``: remember the payment and its checkout page (``payment_status``
  ``pending``): ``GET /cases/{id}/pay`` redirects there.
- ``payment.succeeded``: the case is paid: ``submitted``, records ``case.paid``.
- ``payment.failed`` / ``payment.cancelled`` / ``payment.expired``: ``payment_status``
  ``failed`` / ``expired``, records ``case.payment_failed``; the case stays
  ``awaiting_payment`` and the applicant may ask for a new payment.

``payment.payments`` carries every service's payments: events whose ``source`` is not ``case``
are skipped. Every answer is checked before it changes anything: it comes from ``/payment``,
its reference is ``case/case/<id>[/<attempt>]`` of a case of the event's tenant that asked for
a payment, the amount and currency are the case's fee, the payment id is the one named first.
A mismatch (a forged or misrouted event) changes nothing, is logged and raises
:class:`PermanentFailure`: a dead letter. An answer about an earlier attempt of the case (the
applicant asked again since) is logged and ignored. Every handler locks the case and decides
by its state, so a second delivery changes nothing.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases import repository
from case_service.cases.models import Case, CaseHistory, PaymentOutcome
from case_service.settings import CaseSettings
from city_shared.consumer import PermanentFailure, Subscription
from city_shared.envelope import Event

__all__ = [
    "PAYMENTS_TOPIC",
    "PAYMENT_CANCELLED",
    "PAYMENT_CREATED",
    "PAYMENT_EXPIRED",
    "PAYMENT_FAILED",
    "PAYMENT_SUCCEEDED",
    "build_case_subscriptions",
    "on_payment_created",
    "on_payment_succeeded",
    "payment_ended_handler",
]

log = logging.getLogger(__name__)

PAYMENTS_TOPIC: Final = "payment.payments"
PAYMENT_CREATED: Final = "city.payment.payment.created.v1"
PAYMENT_SUCCEEDED: Final = "city.payment.payment.succeeded.v1"
PAYMENT_FAILED: Final = "city.payment.payment.failed.v1"
PAYMENT_CANCELLED: Final = "city.payment.payment.cancelled.v1"
PAYMENT_EXPIRED: Final = "city.payment.payment.expired.v1"
#: Payment's ``source`` of payments this service requested.
OUR_SOURCE: Final = "case"
#: The CloudEvents ``source`` of payment's events.
PAYMENT_SOURCE: Final = "/payment"
_REFERENCE: Final = re.compile(r"^case/case/([0-9a-f-]{36})(?:/[0-9]{1,6})?$")


class _PaymentData(BaseModel):
    """What every payment event carries that cases read."""

    model_config = ConfigDict(extra="ignore")

    tenant: str
    source: str
    reference: str
    payment_id: uuid.UUID
    amount: int
    currency: str
    reason: str | None = None


class _PaymentCreatedData(_PaymentData):
    next_url: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _refuse(event: Event, why: str, case: Case | None = None) -> PermanentFailure:
    log.warning("payment answer does not match a case's payment; dead-lettered",
                extra={"event_id": str(event.id), "event_type": event.type,
                       "case_id": str(case.id) if case else None, "mismatch": why})
    return PermanentFailure(f"the answer does not match a case's payment: {why}")


async def _case(session: AsyncSession, event: Event, data: _PaymentData) -> Case | None:
    """The case the answer is about, row locked, after every check (see the module); None if
    the payment is another service's or about an earlier attempt.

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
    if case is None:
        raise _refuse(event, "reference")
    if data.reference != case.reference:
        log.info("payment answer about an earlier payment attempt of a case; ignored",
                 extra={"event_id": str(event.id), "event_type": event.type,
                        "case_id": str(case.id)})
        return None
    wrong = [name for name, bad in (
        ("reference", case.fee_amount <= 0 or case.payment_status is None),
        ("amount", data.amount != case.fee_amount),
        ("currency", data.currency != case.currency),
        ("payment_id", case.payment_id is not None and data.payment_id != case.payment_id),
    ) if bad]
    if wrong:
        raise _refuse(event, ", ".join(wrong), case)
    return case


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _keep(session: AsyncSession, row: CaseHistory | None) -> None:
    if row is not None:
        session.add(row)


async def on_payment_created(session: AsyncSession, event: Event) -> None:
    """Remember the payment and its checkout page while unpaid. Idempotent."""
    data = event.parse(_PaymentCreatedData)
    case = await _case(session, event, data)
    if case is not None:
        _keep(session, case.payment_created(data.payment_id, data.next_url, _now()))


async def on_payment_succeeded(session: AsyncSession, event: Event) -> None:
    """The fee is paid: the case is ``submitted``. Idempotent."""
    data = event.parse(_PaymentData)
    case = await _case(session, event, data)
    if case is not None:
        _keep(session, case.paid(data.payment_id, _now(), caused_by=event))


def payment_ended_handler(
    outcome: PaymentOutcome,
) -> Callable[[AsyncSession, Event], Awaitable[None]]:
    """The handler of a payment that ended without money (``outcome``)."""

    async def on_payment_ended(session: AsyncSession, event: Event) -> None:
        data = event.parse(_PaymentData)
        case = await _case(session, event, data)
        if case is not None:
            _keep(session, case.payment_ended(outcome, data.payment_id, data.reason or outcome,
                                              _now(), caused_by=event))

    return on_payment_ended


def build_case_subscriptions(settings: CaseSettings) -> tuple[Subscription, ...]:
    """The payment outcomes a case waits for."""
    return (
        Subscription(PAYMENTS_TOPIC, PAYMENT_CREATED, on_payment_created),
        Subscription(PAYMENTS_TOPIC, PAYMENT_SUCCEEDED, on_payment_succeeded),
        Subscription(PAYMENTS_TOPIC, PAYMENT_FAILED, payment_ended_handler("failed")),
        Subscription(PAYMENTS_TOPIC, PAYMENT_CANCELLED, payment_ended_handler("cancelled")),
        Subscription(PAYMENTS_TOPIC, PAYMENT_EXPIRED, payment_ended_handler("expired")),
    )
