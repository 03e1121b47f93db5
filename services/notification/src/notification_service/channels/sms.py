"""SMS through a provider adapter. The only provider is the sandbox, which records each
message in ``sandbox_sms`` (``GET /sandbox/sms`` shows them) and sends nothing."""

from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_shared.unit_of_work import unit_of_work
from notification_service.channels.models import SandboxSms

__all__ = ["SandboxSmsProvider", "SmsProvider"]


class SmsProvider(Protocol):
    """Sends one SMS; raises :class:`~notification_service.channels.base.SendError`."""

    async def send(self, *, tenant: str, delivery_id: uuid.UUID, to: str, text: str) -> None:
        ...


class SandboxSmsProvider:
    """Records the SMS in its own unit of work, once per delivery (a retry adds nothing): it
    stands for the provider, so it is called with no transaction of the delivery job open."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def send(self, *, tenant: str, delivery_id: uuid.UUID, to: str, text: str) -> None:
        async with unit_of_work(self._sessions) as session:
            await session.execute(insert(SandboxSms).values(
                tenant=tenant, delivery_id=delivery_id, to_number=to, text=text,
            ).on_conflict_do_nothing(index_elements=[SandboxSms.delivery_id]))
