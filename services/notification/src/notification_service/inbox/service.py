"""Use cases of the inbox: list, count unread, mark read, and :func:`put` for the delivery
job. Flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.errors import NotFound
from notification_service.inbox.models import InboxMessage

__all__ = ["InboxMessageNotFound", "list_messages", "mark_read", "put", "unread_count"]


class InboxMessageNotFound(NotFound):
    """404: no such message in the caller's inbox."""

    code = "inbox_message_not_found"
    title = "Message not found"


async def put(
    session: AsyncSession, *, tenant: str, account_id: uuid.UUID, delivery_id: uuid.UUID,
    department: str | None, title: str, body: str,
) -> None:
    """File a message in the account's inbox; once per delivery (a retry adds nothing)."""
    await session.execute(insert(InboxMessage).values(
        id=uuid.uuid4(), tenant=tenant, account_id=account_id, delivery_id=delivery_id,
        department=department, title=title[:255], body=body,
    ).on_conflict_do_nothing(index_elements=[InboxMessage.delivery_id]))


async def list_messages(
    session: AsyncSession, tenant: str, account_id: uuid.UUID, *, unread_only: bool,
    limit: int, offset: int,
) -> Sequence[InboxMessage]:
    query = select(InboxMessage).where(InboxMessage.tenant == tenant,
                                       InboxMessage.account_id == account_id)
    if unread_only:
        query = query.where(InboxMessage.read_at.is_(None))
    query = query.order_by(InboxMessage.created_at.desc(), InboxMessage.id).limit(limit)
    return (await session.execute(query.offset(offset))).scalars().all()


async def unread_count(session: AsyncSession, tenant: str, account_id: uuid.UUID) -> int:
    return int((await session.execute(select(func.count()).select_from(InboxMessage).where(
        InboxMessage.tenant == tenant, InboxMessage.account_id == account_id,
        InboxMessage.read_at.is_(None)))).scalar_one())


async def mark_read(
    session: AsyncSession, tenant: str, account_id: uuid.UUID, message_id: uuid.UUID
) -> InboxMessage:
    """Set the read receipt; reading again keeps the first ``read_at``.

    :raises InboxMessageNotFound: not a message of this account.
    """
    message = (await session.execute(select(InboxMessage).where(
        InboxMessage.tenant == tenant, InboxMessage.account_id == account_id,
        InboxMessage.id == message_id).with_for_update())).scalar_one_or_none()
    if message is None:
        raise InboxMessageNotFound()
    if message.read_at is None:
        message.read_at = datetime.now(UTC)
        await session.flush()
    return message
