"""HTTP models of the inbox API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from notification_service.inbox.models import InboxMessage

__all__ = ["InboxList", "InboxMessageRead", "UnreadCount"]


class InboxMessageRead(BaseModel):
    """A message in the inbox."""

    message_id: uuid.UUID
    department: str | None
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, message: InboxMessage) -> InboxMessageRead:
        return cls(message_id=message.id, department=message.department, title=message.title,
                   body=message.body, created_at=message.created_at, read_at=message.read_at)


class InboxList(BaseModel):
    """The newest messages first, and how many are unread in total."""

    items: list[InboxMessageRead]
    unread_count: int


class UnreadCount(BaseModel):
    """How many messages are unread."""

    unread_count: int
