"""``city.identity.account.erased.v1`` on ``identity.accounts``: the erased person leaves their
orders and tickets; the sales (lines, amounts, tickets, check-ins) stay for the figures.

Per order of the account in the event's tenant: account id and contact e-mail are removed and
the order is marked ``erased`` (:meth:`Order.forget_buyer`); ``placed_by`` loses the account's
id where the person placed the order themselves. Tickets held by the account lose their holder.
Orders of other tenants are never touched. Invalid data: ``ValidationError`` or
:class:`PermanentFailure` (dead letters, no retry).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.consumer import PermanentFailure, Subscription
from city_shared.envelope import Event
from ticketing_service.orders.models import Order
from ticketing_service.tickets.models import Ticket

__all__ = [
    "ACCOUNT_ERASED",
    "IDENTITY_ACCOUNTS_TOPIC",
    "SUBSCRIPTIONS",
    "AccountErasedData",
    "forget_account",
    "on_account_erased",
]

# identity owns the topic and the event; services never import each other, so the names are
# repeated here.
IDENTITY_ACCOUNTS_TOPIC: Final = "identity.accounts"
ACCOUNT_ERASED: Final = "city.identity.account.erased.v1"


class AccountErasedData(BaseModel):
    """What this service reads of ``city.identity.account.erased.v1``."""

    model_config = ConfigDict(extra="ignore")

    account_id: uuid.UUID
    tenant: str


async def forget_account(
    session: AsyncSession, tenant: str, account_id: uuid.UUID, now: datetime | None = None
) -> int:
    """Pseudonymise every order and ticket of ``account_id`` in ``tenant``; flushes, never
    commits. Idempotent: a second call finds nothing of the person left. Returns how many
    orders changed."""
    now = now or datetime.now(UTC)
    orders = (await session.execute(
        select(Order)
        .where(Order.tenant == tenant, Order.account_id == account_id)
        .order_by(Order.id)
        .with_for_update()
    )).scalars().all()
    changed = 0
    for order in orders:
        if order.forget_buyer():
            order.version += 1
            order.updated_at = now
            changed += 1
    await session.execute(
        update(Ticket)
        .where(Ticket.tenant == tenant, Ticket.holder_account_id == account_id)
        .values(holder_account_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return changed


async def on_account_erased(session: AsyncSession, event: Event) -> None:
    """Forget the erased person in the event's tenant.

    :raises PermanentFailure: the data names another tenant than the event.
    """
    data = event.parse(AccountErasedData)
    if data.tenant != event.tenant:
        raise PermanentFailure("data.tenant differs from the event's tenant")
    await forget_account(session, data.tenant, data.account_id)


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription(IDENTITY_ACCOUNTS_TOPIC, ACCOUNT_ERASED, on_account_erased),
)
