"""Refund use cases: request (guarded), hand to the provider, finish, read. Flush, never
commit: the caller's unit of work does (ADR 0011).

:func:`request_refund` records a refund as ``submitted`` under the payment's row lock; the
amount it holds counts against what is still refundable from then on, so concurrent requests
can never together exceed the payment. :func:`submit_refund` calls the provider with the refund
id as the provider's idempotency key, so asking again asks for the same refund, never for a
second one. :func:`create_refund` (the API) does both in the request's transaction, the
provider call in a savepoint: a provider that fails leaves the refund ``submitted`` for the
job (:mod:`.jobs`). :func:`finish_refund` applies the provider's answer (also one that arrives
later) once: books the ledger and lets the refund raise ``refunded_amount`` and record its
event.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.journey import resume
from payment_service.ledger import repository as ledger_entries
from payment_service.ledger import service as ledger
from payment_service.payments import events as payment_events
from payment_service.payments import repository as payments
from payment_service.payments.access import Visibility
from payment_service.payments.models import Payment, PaymentHistory
from payment_service.providers.registry import Providers
from payment_service.refunds import events, repository
from payment_service.refunds.errors import (
    PaymentNotFound,
    PaymentNotRefundable,
    PreconditionFailed,
    RefundExceedsAvailable,
    RefundNotFound,
    RefundOutsideDepartment,
    UnknownLineItem,
)
from payment_service.refunds.models import Refund, RefundStatus
from payment_service.refunds.preconditions import if_match_satisfied

__all__ = [
    "Refundable",
    "create_refund",
    "finish_refund",
    "get_refund",
    "list_refunds",
    "readable_payment",
    "refundable",
    "request_refund",
    "submit_refund",
]


log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Refundable:
    """What a payment holds for refunds: its amount, what was paid back, what refunds in
    progress hold, and whether it took money at all."""

    amount: int
    refunded: int
    pending: int
    took_money: bool = True

    @property
    def available(self) -> int:
        """``amount - refunded - pending`` (0 for a payment that took no money)."""
        return max(0, self.amount - self.refunded - self.pending) if self.took_money else 0


async def refundable(session: AsyncSession, payment: Payment) -> Refundable:
    """The refund figures of ``payment`` as of now (no lock: for display)."""
    pending = await repository.pending_amount(session, payment.id)
    took_money = payment.status == "succeeded" or await _captured_late(session, payment.id)
    return Refundable(payment.amount, payment.refunded_amount, pending, took_money)


async def _captured_late(session: AsyncSession, payment_id: uuid.UUID) -> bool:
    stmt = select(
        select(PaymentHistory.id)
        .where(PaymentHistory.payment_id == payment_id,
               PaymentHistory.event_type == payment_events.LATE_SUCCEEDED)
        .exists()
    )
    return bool((await session.execute(stmt)).scalar())


async def request_refund(
    session: AsyncSession,
    payment: Payment,
    amount: int,
    *,
    reason: str | None,
    requested_by: str,
    expected_version: int | None = None,
    line_positions: Collection[int] | None = None,
    departments: Collection[str] | None = None,
    now: datetime | None = None,
    refund_id: uuid.UUID | None = None,
) -> Refund:
    """Record a refund of ``amount`` of ``payment`` as ``submitted`` (nothing is paid yet; see
    :func:`submit_refund`), in the caller's transaction.

    Locks the payment row (flushing the session's pending changes first), so concurrent
    requests for one payment are decided one after the other on fresh figures. Refundable are
    succeeded payments and money captured after the payment had closed (a ``late_succeeded``
    entry in its history; that capture is booked to the ledger here, as the money did arrive).
    Raises the payment's version (its ETag).

    ``line_positions`` limits the refund to those line items (the ledger reverses only them);
    ``departments`` (staff) are the departments whose items the caller may pay back: then every
    refunded item (all of them without ``line_positions``) must be one of theirs.

    :raises PaymentNotFound: (404) the payment vanished.
    :raises PreconditionFailed: (412) ``expected_version`` is not the payment's version.
    :raises PaymentNotRefundable: (409) the payment did not take any money.
    :raises RefundExceedsAvailable: (409) ``amount`` is more than still refundable (of the
        named line items).
    :raises UnknownLineItem: (422) a position the payment does not have.
    :raises RefundOutsideDepartment: (403) an item of another department would be refunded.
    """
    if amount <= 0:
        raise ValueError("a refund needs a positive amount")
    now = now or _now()
    locked = await repository.lock_payment(session, payment.id)
    if locked is None:
        raise PaymentNotFound()
    if expected_version is not None and locked.version != expected_version:
        raise PreconditionFailed(
            "The payment changed since it was read; read it again and decide anew.",
            extra={"version": locked.version},
        )
    if locked.status != "succeeded":
        if not await _captured_late(session, locked.id):
            raise PaymentNotRefundable("Only a payment that took money can be refunded.",
                                       extra={"payment_status": locked.status})
        await ledger.book_payment(session, locked, at=now)
    positions = await _scope(session, locked, line_positions, departments)
    figures = Refundable(locked.amount, locked.refunded_amount,
                         await repository.pending_amount(session, locked.id))
    available = figures.available
    if positions is not None:
        available = min(available, await _available_on(session, locked, positions))
    if amount > available:
        raise RefundExceedsAvailable(available)
    refund = Refund(id=refund_id or uuid.uuid4(), payment_id=locked.id, tenant=locked.tenant,
                    amount=amount, reason=reason, status="submitted",
                    requested_by=requested_by[:100], line_positions=positions, created_at=now)
    session.add(refund)
    locked.version += 1
    locked.updated_at = now
    await session.flush()
    return refund


async def _scope(session: AsyncSession, payment: Payment,
                 line_positions: Collection[int] | None,
                 departments: Collection[str] | None) -> list[int] | None:
    """The refund's line positions (sorted; None: all items), checked against the caller's
    ``departments``."""
    items = {item.position: item for item in await ledger_entries.line_items(session,
                                                                             payment.id)}
    if line_positions is None:
        chosen = list(items.values())
    else:
        for position in line_positions:
            if position not in items:
                raise UnknownLineItem(position)
        chosen = [items[p] for p in sorted(set(line_positions))]
    if departments is not None:
        foreign = sorted({i.department for i in chosen} - set(departments))
        if foreign:
            raise RefundOutsideDepartment(foreign)
    return None if line_positions is None else [i.position for i in chosen]


async def _available_on(session: AsyncSession, payment: Payment, positions: list[int]) -> int:
    """What the line items ``positions`` still hold, less what submitted refunds that may
    draw on them hold."""
    items = await ledger_entries.line_items(session, payment.id)
    refunded = await ledger_entries.refunded_by_line(session, payment.id)
    held = sum(i.amount - refunded.get(i.position, 0) for i in items if i.position in positions)
    return max(0, held - await repository.pending_amount(session, payment.id, positions))


async def submit_refund(
    session: AsyncSession, refund_id: uuid.UUID, providers: Providers,
    *, now: datetime | None = None,
) -> Refund:
    """Hand a recorded, submitted refund to the payment's provider and apply its answer.

    Idempotent: a refund already taken by the provider (it has a provider refund id) or
    final is returned unchanged. The provider is called with the refund id as idempotency key
    while the payment row is locked. Exceptions of the provider propagate; the refund then
    stays ``submitted`` and may be submitted again.

    :raises RefundNotFound: (404) no such refund.
    :raises UnknownProvider: (503) the payment's provider is not configured here.
    """
    found = await session.get(Refund, refund_id)
    if found is None:
        raise RefundNotFound()
    payment = await repository.lock_payment(session, found.payment_id)
    refund = await repository.lock_refund(session, refund_id)
    if payment is None or refund is None:
        raise RefundNotFound()
    if refund.finished or refund.provider_refund_id is not None:
        return refund
    provider = providers.get(payment.provider)
    with resume("refund submission", payment.journey):
        answer = await provider.refund(payment, refund.amount, idempotency_key=str(refund.id))
        refund.provider_refund_id = answer.provider_refund_id
        if answer.status != "submitted":
            await _finish(session, payment, refund, answer.status, now or _now())
        await session.flush()
    return refund


async def finish_refund(
    session: AsyncSession,
    refund_id: uuid.UUID,
    status: RefundStatus,
    *,
    provider_refund_id: str | None = None,
    now: datetime | None = None,
) -> Refund:
    """Apply the provider's final answer (``succeeded`` or ``failed``) to a refund, e.g. from
    a provider's notification. Idempotent: a refund already final stays as it is.

    :raises RefundNotFound: (404) no such refund.
    """
    found = await session.get(Refund, refund_id)
    if found is None:
        raise RefundNotFound()
    payment = await repository.lock_payment(session, found.payment_id)
    refund = await repository.lock_refund(session, refund_id)
    if payment is None or refund is None:
        raise RefundNotFound()
    if refund.finished:
        return refund
    if provider_refund_id is not None:
        refund.provider_refund_id = provider_refund_id
    await _finish(session, payment, refund, status, now or _now())
    await session.flush()
    return refund


async def _finish(
    session: AsyncSession, payment: Payment, refund: Refund, status: RefundStatus,
    now: datetime,
) -> None:
    """Both rows locked by the caller: book a success, finish the refund (it records its
    event) and add the payment's history entry."""
    shares: list[events.RefundedItem] = []
    if status == "succeeded":
        await ledger.book_refund(session, payment, refund, at=now)
        shares = [events.RefundedItem(position=p, department=d, cost_centre=c, amount=a)
                  for p, d, c, a in await ledger_entries.refund_shares(session, refund.id)]
    refund.finish(payment, status, now, shares)
    type_ = events.REFUND_SUCCEEDED if status == "succeeded" else events.REFUND_FAILED
    await payments.add_history(session, payment, type_, now, {
        "refund_id": str(refund.id), "amount": refund.amount,
        "refunded_amount": payment.refunded_amount,
    })


async def readable_payment(session: AsyncSession, v: Visibility,
                           payment_id: uuid.UUID) -> Payment:
    """The payment ``payment_id`` if ``v`` may see it.

    :raises PaymentNotFound: (404) no such payment for this caller.
    """
    payment = await payments.get(session, v, payment_id)
    if payment is None:
        raise PaymentNotFound()
    return payment


_REFUND_IDS = uuid.UUID("5f0d6c1e-8f4b-4b8e-9a3f-2c7d1e0b9a64")


def refund_id_for(payment_id: uuid.UUID, requested_by: str, idempotency_key: str) -> uuid.UUID:
    """The id of the refund one caller asks for with one ``Idempotency-Key``: the same on every
    retry, so the provider (which takes the refund id as its idempotency key) pays once even
    when the first attempt's transaction died after the provider had accepted it."""
    return uuid.uuid5(_REFUND_IDS, "\x00".join([str(payment_id), requested_by, idempotency_key]))


async def create_refund(
    session: AsyncSession,
    v: Visibility,
    payment_id: uuid.UUID,
    amount: int,
    *,
    reason: str | None,
    requested_by: str,
    providers: Providers,
    idempotency_key: str,
    if_match: str | None = None,
    line_positions: Collection[int] | None = None,
) -> tuple[Payment, Refund]:
    """The API's refund: check ``If-Match`` against the payment ``v`` may refund, record the
    refund (:func:`request_refund`, only ``v.departments``' items for staff) under the id
    :func:`refund_id_for` gives this caller's ``idempotency_key`` (a refund already made under
    it is returned as it is) and hand it to the provider (:func:`submit_refund`) in a
    savepoint. A provider that fails (outage, timeout) rolls back only the savepoint: the
    refund stays ``submitted`` and the job hands it over later with the same idempotency key.
    Returns the payment and the refund as they are now.

    :raises PaymentNotFound: (404) no such payment for this caller.
    :raises PreconditionFailed: (412) ``if_match`` does not match the payment's ETag.
    :raises PaymentNotRefundable, RefundExceedsAvailable, UnknownLineItem,
        RefundOutsideDepartment: see :func:`request_refund`.
    """
    payment = await readable_payment(session, v, payment_id)
    refund_id = refund_id_for(payment.id, requested_by, idempotency_key)
    made = await session.get(Refund, refund_id)
    if made is not None:  # asked for before (its stored answer expired): the same refund
        return payment, made
    expected: int | None = None
    if if_match is not None and if_match.strip() != "*":
        if not if_match_satisfied(if_match, payment.version):
            raise PreconditionFailed(
                "The payment changed since it was read; read it again and decide anew.",
                extra={"version": payment.version},
            )
        expected = payment.version
    refund = await request_refund(
        session, payment, amount, reason=reason, requested_by=requested_by,
        expected_version=expected, line_positions=line_positions, departments=v.departments,
        refund_id=refund_id,
    )
    try:
        async with session.begin_nested():
            await submit_refund(session, refund_id, providers)
    except Exception as exc:
        log.warning("refund not yet taken by the provider",
                    extra={"refund_id": str(refund_id), "error": type(exc).__name__})
    await session.refresh(payment)
    await session.refresh(refund)
    return payment, refund


async def get_refund(session: AsyncSession, payment: Payment, refund_id: uuid.UUID) -> Refund:
    """The refund ``refund_id`` of ``payment`` (which the caller may see).

    :raises RefundNotFound: (404) the payment has no such refund.
    """
    refund = await repository.get(session, payment.id, refund_id)
    if refund is None:
        raise RefundNotFound()
    return refund


async def list_refunds(session: AsyncSession, payment: Payment) -> list[Refund]:
    """The refunds of ``payment`` (which the caller may see), oldest first."""
    return await repository.list_for_payment(session, payment.id)
