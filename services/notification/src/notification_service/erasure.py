"""``city.identity.account.erased.v1``: forget a person within the notification service.

Deletes the account's inbox messages, contact data and preferences; pseudonymises its messages
and deliveries (account id, addresses, rendered texts and params removed; statuses, template
and timestamps kept as the record that something was sent). Deliveries still open become
``permanent_failure`` (``recipient_erased``). A second delivery of the event finds nothing left
to change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event
from notification_service.channels.models import SandboxSms
from notification_service.contacts.models import Contact
from notification_service.deliveries.models import OPEN_STATUSES, Delivery, Message
from notification_service.inbox.models import InboxMessage
from notification_service.preferences.models import Preference

__all__ = ["AccountErasedData", "forget_account", "on_account_erased"]


class AccountErasedData(BaseModel):
    """``city.identity.account.erased.v1``: whose data to forget."""

    model_config = ConfigDict(extra="ignore")

    account_id: uuid.UUID
    tenant: str


async def forget_account(
    session: AsyncSession, tenant: str, account_id: uuid.UUID, *, caused_by: Event | None = None
) -> int:
    """Forget ``account_id`` of ``tenant``; returns how many messages were pseudonymised."""
    now = datetime.now(UTC)
    await session.execute(delete(InboxMessage).where(InboxMessage.tenant == tenant,
                                                     InboxMessage.account_id == account_id))
    await session.execute(delete(Contact).where(Contact.tenant == tenant,
                                                Contact.account_id == account_id))
    await session.execute(delete(Preference).where(Preference.tenant == tenant,
                                                   Preference.account_id == account_id))
    messages = (await session.execute(select(Message).where(
        Message.tenant == tenant, Message.recipient_account_id == account_id)
        .with_for_update())).scalars().all()
    for message in messages:
        for delivery in message.deliveries:
            if delivery.status in OPEN_STATUSES:
                delivery.fail(now, "recipient_erased", caused_by=caused_by)
    ids = [m.id for m in messages]
    if ids:
        delivery_ids = select(Delivery.id).where(Delivery.message_id.in_(ids))
        await session.execute(update(SandboxSms).where(SandboxSms.delivery_id.in_(delivery_ids))
                              .values(to_number=None, text=""))
        await session.execute(update(Delivery).where(Delivery.message_id.in_(ids))
                              .values(address=None, content=None, updated_at=now))
        await session.execute(update(Message).where(Message.id.in_(ids))
                              .values(recipient_account_id=None, params={}))
    return len(ids)


async def on_account_erased(session: AsyncSession, event: Event) -> None:
    """The handler; idempotent (the second time no message names the account any more)."""
    data = event.parse(AccountErasedData)
    if data.tenant != event.tenant:
        raise PermanentFailure("data.tenant differs from the event's tenant")
    await forget_account(session, data.tenant, data.account_id, caused_by=event)
