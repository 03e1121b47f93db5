"""Inbound events of the orders slice: payment's answers on ``payment.payments``, with narrow
models of what they read (payment owns the contract; the names are repeated here, services
never import each other).

- ``payment.created``: remember the payment and its checkout page (``next_url``).
- ``payment.succeeded``: confirm the unpaid order (places sold, tickets issued). For an order
  already closed (the hold ran out first) the order stays closed and the money is paid back:
  the refund command is sent once (the order's ``reason`` becomes ``late_payment_refunded``).
- ``payment.failed`` / ``payment.cancelled`` / ``payment.expired``: close the unpaid order and
  release its places.
- ``refund.succeeded``: a pending citizen cancellation ends ``refunded`` (tickets voided, places
  released); otherwise ``refunded_amount`` is recorded, and a refund ticketing did not ask for
  (``requested_by`` staff or client: made at payment) voids the tickets of the departments
  whose line items it paid back (``reason`` ``refunded_at_payment``), the others stay valid.
- ``refund.failed``: a pending citizen cancellation goes back to ``confirmed``.

``payment.payments`` carries every service's payments: events whose ``data.source`` is not
``ticketing`` are skipped, in memory before any transaction (each subscription's ``accepts``,
see :func:`ours`: no inbox row, no statement; data that does not validate still reaches the
handler and is dead-lettered), and so are references no order has. Every handler locks the order and
decides by its status, so a second delivery (or a second answer of the same kind) changes
nothing. Invalid data raises ``ValidationError`` or :class:`PermanentFailure`: dead letters.

Every answer is checked against what was asked before it changes anything
(:func:`_check_answer`): it comes from ``/payment``, the order asked for a payment at all
(total above 0), the ``payment_id`` is the one payment named first (``payment.created``, or the
first answer if that was lost), the currency is the order's, a payment's amount is the order's
total and a refund's amounts stay within it. A mismatch (a forged or misrouted event) changes
nothing, is logged and raises :class:`PermanentFailure`: the dead letter (and its metric) is
what an operator looks at.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.consumer import Accepts, Handler, PermanentFailure, Subscription, only_where
from city_shared.envelope import Event
from ticketing_service.orders import repository, service
from ticketing_service.orders.models import LATE_PAYMENT_REFUNDED, Order
from ticketing_service.settings import TicketingSettings
from ticketing_service.tickets import service as tickets

__all__ = [
    "LATE_PAYMENT_REFUNDED",
    "PAYMENTS_TOPIC",
    "PAYMENT_CANCELLED",
    "PAYMENT_CREATED",
    "PAYMENT_EXPIRED",
    "PAYMENT_FAILED",
    "PAYMENT_SUCCEEDED",
    "REFUND_FAILED",
    "REFUND_SUCCEEDED",
    "build_order_subscriptions",
    "on_payment_created",
    "on_refund_failed",
    "on_refund_succeeded",
    "ours",
    "payment_closed_handler",
    "payment_succeeded_handler",
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
OUR_SOURCE: Final = "ticketing"
#: The CloudEvents ``source`` of payment's events.
PAYMENT_SOURCE: Final = "/payment"
#: The void reason of tickets whose department's line items were paid back at payment.
REFUNDED_AT_PAYMENT: Final = "refunded_at_payment"


class _Answer(BaseModel):
    """What every payment and refund event carries that ticketing reads."""

    model_config = ConfigDict(extra="ignore")

    tenant: str
    source: str
    reference: str


class _PaymentData(_Answer):
    payment_id: uuid.UUID
    amount: int
    currency: str


class _PaymentCreatedData(_PaymentData):
    next_url: str | None = None


class _RefundedItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    department: str
    amount: int


class _RefundData(_Answer):
    payment_id: uuid.UUID
    amount: int
    currency: str
    refunded_amount: int
    requested_by: str = "source"
    line_items: list[_RefundedItem] = Field(default_factory=list)


def ours(model: type[_Answer]) -> Accepts:
    """A subscription's filter that turns down exactly what its handler, reading the data as
    ``model``, skips before any statement: valid data of another service's payment
    (``data.source`` not ours); data that does not validate passes and is dead-lettered."""
    return only_where(model, "source", OUR_SOURCE)


def _now() -> datetime:
    return datetime.now(UTC)


async def _order(session: AsyncSession, event: Event, data: _Answer) -> Order | None:
    """The order the answer is about, row locked; None if it is not one of ours."""
    if data.source != OUR_SOURCE:
        return None
    if data.tenant != event.tenant:
        raise PermanentFailure("data.tenant differs from the event's tenant")
    order = await repository.lock_by_reference(session, data.tenant, data.reference)
    if order is None:
        _unknown_reference(event)
    return order


def _unknown_reference(event: Event) -> None:
    log.warning("payment answer for an unknown order reference",
                extra={"event_id": str(event.id), "event_type": event.type})


def _check_answer(order: Order | repository.OrderHead, event: Event,
                  data: _PaymentData | _RefundData) -> None:
    """Refuse an answer that is not about the payment this order asked for (see the module
    doc); nothing has been changed when this raises.

    :raises PermanentFailure: with the names of the fields that do not match.
    """
    wrong: list[str] = []
    if event.source != PAYMENT_SOURCE:
        wrong.append("source")
    if order.total <= 0:
        wrong.append("reference")  # a free order asked for no payment
    if order.payment_id is not None and data.payment_id != order.payment_id:
        wrong.append("payment_id")
    if data.currency != order.currency:
        wrong.append("currency")
    if isinstance(data, _RefundData):
        if order.payment_id is None:
            wrong.append("payment_id")  # nothing was paid that could be refunded
        if not 0 < data.amount <= order.total or not 0 <= data.refunded_amount <= order.total:
            wrong.append("amount")
    elif data.amount != order.total:
        wrong.append("amount")
    if wrong:
        log.warning("payment answer does not match what the order asked for; dead-lettered",
                    extra={"event_id": str(event.id), "event_type": event.type,
                           "order_id": str(order.id), "mismatch": ",".join(wrong)})
        raise PermanentFailure(f"the answer does not match the order's payment: "
                               f"{', '.join(wrong)}")


async def on_payment_created(session: AsyncSession, event: Event) -> None:
    """Remember the payment id and, while unpaid, the checkout page. Idempotent.

    Reads and changes only the order's head (:func:`repository.lock_head_by_reference`: the
    same row lock as every other answer, without loading the order's lines and items)."""
    data = event.parse(_PaymentCreatedData)
    if data.source != OUR_SOURCE:
        return
    if data.tenant != event.tenant:
        raise PermanentFailure("data.tenant differs from the event's tenant")
    order = await repository.lock_head_by_reference(session, data.tenant, data.reference)
    if order is None:
        _unknown_reference(event)
        return
    _check_answer(order, event, data)
    payment_id = order.payment_id or data.payment_id
    checkout_url = order.checkout_url
    if order.status == "awaiting_payment" and data.next_url and checkout_url is None:
        checkout_url = data.next_url
    if (payment_id, checkout_url) != (order.payment_id, order.checkout_url):
        await repository.remember_payment(session, order.id, payment_id=payment_id,
                                          checkout_url=checkout_url, now=_now())


def payment_succeeded_handler(settings: TicketingSettings) -> Handler:
    """The handler of ``payment.succeeded`` (issuing tickets needs the signing keys)."""

    async def on_payment_succeeded(session: AsyncSession, event: Event) -> None:
        data = event.parse(_PaymentData)
        order = await _order(session, event, data)
        if order is None:
            return
        _check_answer(order, event, data)
        now = _now()
        if order.payment_id is None:
            order.payment_id = data.payment_id
        if order.holds_capacity:
            await service.confirm_order(session, order, settings=settings, now=now,
                                        caused_by=event)
        else:
            # The hold ran out before the money came: keep the order closed, pay it back once.
            order.refund_late_payment(data.amount, data.payment_id, now, caused_by=event)

    return on_payment_succeeded


def payment_closed_handler(
    status: Literal["cancelled", "expired"], reason: str
) -> Callable[[AsyncSession, Event], Awaitable[None]]:
    """The handler of a payment that ended without money: the unpaid order becomes
    ``status`` with ``reason`` and its places are released; any other order stays as it is."""

    async def on_payment_closed(session: AsyncSession, event: Event) -> None:
        data = event.parse(_PaymentData)
        order = await _order(session, event, data)
        if order is None:
            return
        _check_answer(order, event, data)
        if order.payment_id is None:
            order.payment_id = data.payment_id
        if order.holds_capacity:
            await service.close_unpaid_order(session, order, status, reason, now=_now(),
                                             caused_by=event)

    return on_payment_closed


async def on_refund_succeeded(session: AsyncSession, event: Event) -> None:
    """A pending cancellation ends ``refunded``; otherwise the amount paid back so far is
    recorded (a late payment's refund, a refund staff made at payment). Idempotent."""
    data = event.parse(_RefundData)
    order = await _order(session, event, data)
    if order is None:
        return
    _check_answer(order, event, data)
    now = _now()
    if order.status == "cancellation_requested":
        await service.finish_cancellation(session, order, data.refunded_amount, now=now,
                                          caused_by=event)
        return
    if data.refunded_amount > order.refunded_amount:
        order.refunded_amount = data.refunded_amount
        order.touch(now)
    if data.requested_by != "source" and order.status == "confirmed":
        # Paid back at payment (a department's cashier): what was paid back admits no more.
        # Already voided tickets stay as they are, so a second delivery voids nothing.
        departments = {item.department for item in data.line_items if item.amount > 0}
        if departments:
            await tickets.void_tickets(session, order, reason=REFUNDED_AT_PAYMENT, now=now,
                                       caused_by=event, departments=departments)


async def on_refund_failed(session: AsyncSession, event: Event) -> None:
    """A pending cancellation goes back to ``confirmed`` (the tickets, never voided, admit
    again); the citizen may try again. Idempotent."""
    data = event.parse(_RefundData)
    order = await _order(session, event, data)
    if order is None:
        return
    _check_answer(order, event, data)
    if order.status == "cancellation_requested":
        order.refund_failed(_now())


def build_order_subscriptions(settings: TicketingSettings) -> tuple[Subscription, ...]:
    """The orders slice's subscriptions: payment's answers on ``payment.payments``; other
    services' payments are turned down before any transaction (:func:`ours`)."""
    payments = ours(_PaymentData)
    refunds = ours(_RefundData)
    return (
        Subscription(PAYMENTS_TOPIC, PAYMENT_CREATED, on_payment_created,
                     accepts=ours(_PaymentCreatedData)),
        Subscription(PAYMENTS_TOPIC, PAYMENT_SUCCEEDED, payment_succeeded_handler(settings),
                     accepts=payments),
        Subscription(PAYMENTS_TOPIC, PAYMENT_FAILED,
                     payment_closed_handler("cancelled", "payment_failed"), accepts=payments),
        Subscription(PAYMENTS_TOPIC, PAYMENT_CANCELLED,
                     payment_closed_handler("cancelled", "payment_cancelled"),
                     accepts=payments),
        Subscription(PAYMENTS_TOPIC, PAYMENT_EXPIRED,
                     payment_closed_handler("expired", "payment_expired"), accepts=payments),
        Subscription(PAYMENTS_TOPIC, REFUND_SUCCEEDED, on_refund_succeeded, accepts=refunds),
        Subscription(PAYMENTS_TOPIC, REFUND_FAILED, on_refund_failed, accepts=refunds),
    )
