"""Queries of the payments slice. Reads go through a :class:`Visibility`; writers lock the
payment row (``FOR UPDATE``) so that concurrent changes of one payment run one after the
other. Never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, false, func, select, text, tuple_
from sqlalchemy import insert as sa_insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from city_shared.pagination import Cursor
from payment_service.payments.access import Visibility
from payment_service.payments.models import (
    OPEN_STATUSES,
    Payment,
    PaymentHistory,
    PaymentLineItem,
    ProviderNotification,
)

__all__ = [
    "PaymentFilters",
    "add_history",
    "get",
    "get_by_reference",
    "get_for_update",
    "history",
    "insert_payment",
    "list_page",
    "lock_by_provider_id",
    "lock_of_payer",
    "lock_overdue",
    "lock_waiting",
    "record_notification",
    "write_opened",
]


@dataclass(frozen=True)
class PaymentFilters:
    """Optional list filters; ``created_to`` is exclusive."""

    status: str | None = None
    reference: str | None = None
    department: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def _has_line_item_of(departments: Sequence[str] | frozenset[str]) -> ColumnElement[bool]:
    return exists().where(
        PaymentLineItem.payment_id == Payment.id,
        PaymentLineItem.department.in_(sorted(departments)),
    )


def _visible(v: Visibility) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Payment.tenant == v.tenant]
    if v.nothing:
        conditions.append(false())
    if v.account_id is not None:
        conditions.append(Payment.payer_account_id == v.account_id)
    if v.departments is not None:
        conditions.append(_has_line_item_of(v.departments))
    if v.source is not None:
        conditions.append(Payment.source == v.source)
    return conditions


async def get(session: AsyncSession, v: Visibility, payment_id: uuid.UUID) -> Payment | None:
    """The payment ``payment_id`` if ``v`` may see it."""
    stmt = select(Payment).where(Payment.id == payment_id, *_visible(v))
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_for_update(
    session: AsyncSession, v: Visibility, payment_id: uuid.UUID
) -> Payment | None:
    """Like :func:`get`, with the row locked until the transaction ends."""
    stmt = (
        select(Payment).where(Payment.id == payment_id, *_visible(v))
        .with_for_update(of=Payment).execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_by_reference(
    session: AsyncSession, tenant: str, source: str, reference: str
) -> Payment | None:
    """The payment of ``source`` with ``reference`` in ``tenant`` (at most one exists)."""
    stmt = select(Payment).where(
        Payment.tenant == tenant, Payment.source == source, Payment.reference == reference
    )
    return (await session.execute(stmt)).scalar_one_or_none()


#: The insert of a new payment, built once (building ``insert(...).values(**row)`` per call
#: cost about a tenth of a payment request's CPU); the row comes as parameters. Plain SQL with
#: the columns' types: SQLAlchemy caches no compiled form of PostgreSQL's ``insert()`` (its ON
#: CONFLICT construct has no cache key), so that one was compiled again for every payment.
_PAYMENT_NAMES = [c.name for c in Payment.__table__.c]  # the mapped table's, no input
_INSERT_PAYMENT = text(
    f"INSERT INTO payments ({', '.join(_PAYMENT_NAMES)}) "  # noqa: S608
    f"VALUES ({', '.join(f':{name}' for name in _PAYMENT_NAMES)}) "
    "ON CONFLICT ON CONSTRAINT uq_payments_source_reference DO NOTHING RETURNING id"
).bindparams(*(bindparam(c.name, type_=c.type) for c in Payment.__table__.c))
#: Core's (cacheable) insert, one statement for all line items.
_INSERT_LINE_ITEMS = sa_insert(PaymentLineItem.__table__)  # type: ignore[arg-type]
#: What a new payment row holds besides the values given (the columns' defaults).
_NEW_PAYMENT_DEFAULTS: dict[str, Any] = {
    "reason": None, "provider_payment_id": None, "next_url": None, "refunded_amount": 0,
    "version": 1, "finished_at": None, "provider_checked_at": None,
}
#: Attribute -> column name (``metadata_`` is the column ``metadata``).
_PAYMENT_COLUMNS = {attr.key: attr.columns[0].name for attr in sa_inspect(Payment).column_attrs}


async def insert_payment(
    session: AsyncSession, values: dict[str, Any], line_items: Sequence[dict[str, Any]]
) -> Payment | None:
    """Insert a payment and its line items unless the source already has one with this
    reference; returns the new payment (in the session, as if loaded: no statement reads it
    back), or None when it exists.

    A concurrent insert of the same reference waits for the other transaction: if that one
    commits, this returns None and the caller reads the winner's row.
    """
    known = {**_NEW_PAYMENT_DEFAULTS, **values}
    if known.keys() != _PAYMENT_COLUMNS.keys():  # a column added without its default here
        differ = sorted(known.keys() ^ _PAYMENT_COLUMNS.keys())
        raise ValueError(f"columns of a new payment: {differ}")
    row = {_PAYMENT_COLUMNS[key]: value for key, value in known.items()}
    new_id = (await session.execute(_INSERT_PAYMENT, row)).scalar_one_or_none()
    if new_id is None:
        return None
    items = [{"payment_id": new_id, "position": pos, **item}
             for pos, item in enumerate(line_items)]
    await session.execute(_INSERT_LINE_ITEMS, items)
    known["id"] = new_id
    payment = Payment(**known)
    payment.line_items = [PaymentLineItem(**item) for item in items]
    for item in payment.line_items:
        make_transient_to_detached(item)
    make_transient_to_detached(payment)
    session.add(payment)
    return payment


#: A new payment's provider id and pay page, and its first history entry, in one statement
#: built once: the update rides along as a data-modifying CTE of the history insert (the ORM
#: would flush an UPDATE and an INSERT ... RETURNING of the history's id nobody reads).
_WRITE_OPENED = text(
    "WITH opened AS (UPDATE payments SET provider_payment_id = :provider_payment_id, "
    "next_url = :next_url WHERE id = :payment_id) "
    "INSERT INTO payment_history (payment_id, event_type, status, reason, data, occurred_at) "
    "VALUES (:payment_id, :event_type, :status, :reason, :data, :occurred_at)"
).bindparams(
    *(bindparam(c.name, type_=c.type) for c in PaymentHistory.__table__.c if c.name != "id"),
    *(bindparam(c.name, type_=c.type) for c in Payment.__table__.c
      if c.name in ("provider_payment_id", "next_url")),
)
#: The attributes :func:`write_opened` stores (the rest of a new payment is inserted as is).
_OPENED_ATTRIBUTES = ("provider_payment_id", "next_url")


async def write_opened(
    session: AsyncSession, payment: Payment, event_type: str, now: datetime,
    data: dict[str, object],
) -> None:
    """Store what the provider said about a payment this transaction inserted (its
    ``provider_payment_id`` and ``next_url``, as :meth:`Payment.opened` set them) and append
    the history entry ``event_type``, in one statement; the payment stays in the session as
    loaded (the ORM has nothing left to flush of it)."""
    await session.execute(_WRITE_OPENED, {
        "provider_payment_id": payment.provider_payment_id, "next_url": payment.next_url,
        "payment_id": payment.id, "event_type": event_type, "status": payment.status,
        "reason": payment.reason, "data": data, "occurred_at": now,
    })
    for key in _OPENED_ATTRIBUTES:
        set_committed_value(payment, key, getattr(payment, key))


async def lock_by_provider_id(
    session: AsyncSession, provider: str, provider_payment_id: str
) -> Payment | None:
    """The payment the provider knows as ``provider_payment_id``, locked (any tenant: the
    provider's id is the capability)."""
    stmt = (
        select(Payment)
        .where(Payment.provider == provider, Payment.provider_payment_id == provider_payment_id)
        .with_for_update(of=Payment).execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_page(
    session: AsyncSession, v: Visibility, filters: PaymentFilters, after: Cursor | None,
    limit: int,
) -> list[Payment]:
    """Up to ``limit`` visible payments matching ``filters``, newest first, after ``after``."""
    stmt = select(Payment).where(*_visible(v))
    if filters.status is not None:
        stmt = stmt.where(Payment.status == filters.status)
    if filters.reference is not None:
        stmt = stmt.where(Payment.reference == filters.reference)
    if filters.department is not None:
        # Staff filter only within their own departments: a payment's foreign line items are
        # invisible to them, so they cannot be searched for either.
        if v.departments is not None and filters.department not in v.departments:
            stmt = stmt.where(false())
        stmt = stmt.where(_has_line_item_of([filters.department]))
    if filters.created_from is not None:
        stmt = stmt.where(Payment.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(Payment.created_at < filters.created_to)
    if after is not None:
        stmt = stmt.where(tuple_(Payment.created_at, Payment.id) < (after.at, after.id))
    stmt = stmt.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def history(session: AsyncSession, payment_id: uuid.UUID) -> list[PaymentHistory]:
    """The history of one payment, oldest first."""
    stmt = (select(PaymentHistory).where(PaymentHistory.payment_id == payment_id)
            .order_by(PaymentHistory.id))
    return list((await session.execute(stmt)).scalars())


async def add_history(
    session: AsyncSession, payment: Payment, event_type: str, now: datetime,
    data: dict[str, object] | None = None,
) -> None:
    """Append an entry with the payment's current status and reason."""
    session.add(PaymentHistory(payment_id=payment.id, event_type=event_type,
                               status=payment.status, reason=payment.reason,
                               data=data or {}, occurred_at=now))


async def record_notification(
    session: AsyncSession, provider: str, notification_id: str, kind: str,
    payment_id: uuid.UUID | None,
) -> bool:
    """Remember a provider notification; False if it was seen before (a replay)."""
    stored = (
        await session.execute(
            insert(ProviderNotification)
            .values(provider=provider, notification_id=notification_id, kind=kind,
                    payment_id=payment_id)
            .on_conflict_do_nothing()
            .returning(ProviderNotification.notification_id)
        )
    ).scalar_one_or_none()
    return stored is not None


async def lock_overdue(session: AsyncSession, now: datetime, limit: int) -> list[Payment]:
    """Up to ``limit`` open payments past their expiry, locked; rows another transaction
    holds (a webhook being applied, another worker) are skipped, not waited for."""
    stmt = (
        select(Payment)
        .where(Payment.status.in_(sorted(OPEN_STATUSES)), Payment.expires_at <= now)
        .order_by(Payment.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Payment)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


async def lock_waiting(session: AsyncSession, since: datetime, limit: int) -> list[Payment]:
    """Up to ``limit`` open payments unchanged and not asked at their provider since ``since``,
    those waiting longest first, locked; rows another transaction holds are skipped."""
    waiting_since = func.coalesce(Payment.provider_checked_at, Payment.updated_at)
    stmt = (
        select(Payment)
        .where(Payment.status.in_(sorted(OPEN_STATUSES)), waiting_since <= since)
        .order_by(waiting_since)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Payment)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


async def lock_of_payer(
    session: AsyncSession, tenant: str, account_id: uuid.UUID
) -> list[Payment]:
    """The payments whose payer is ``account_id`` in ``tenant``, locked."""
    stmt = (
        select(Payment)
        .where(Payment.tenant == tenant, Payment.payer_account_id == account_id)
        .with_for_update(of=Payment).execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())
