"""Use cases of the preferences slice: read, change, and :func:`opted_out` for the deliveries
slice. Flushes, never commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notification_service.preferences.models import Preference
from notification_service.preferences.schemas import PreferencesRead, PreferencesUpdate

__all__ = ["CHANNELS", "get_preferences", "opted_out", "set_preferences"]

CHANNELS = ("email", "sms", "inbox")


async def _enabled(session: AsyncSession, tenant: str, account_id: uuid.UUID) -> dict[str, bool]:
    rows = (await session.execute(select(Preference).where(
        Preference.tenant == tenant, Preference.account_id == account_id))).scalars().all()
    values = dict.fromkeys(CHANNELS, True)
    values.update({row.channel: row.enabled for row in rows})
    return values


async def get_preferences(
    session: AsyncSession, tenant: str, account_id: uuid.UUID
) -> PreferencesRead:
    return PreferencesRead(**await _enabled(session, tenant, account_id))


async def set_preferences(
    session: AsyncSession, tenant: str, account_id: uuid.UUID, data: PreferencesUpdate
) -> PreferencesRead:
    """Store the given channels' choices (upsert); returns all of them."""
    now = datetime.now(UTC)
    for channel, enabled in data.model_dump(exclude_none=True).items():
        statement = insert(Preference).values(tenant=tenant, account_id=account_id,
                                              channel=channel, enabled=enabled, updated_at=now)
        await session.execute(statement.on_conflict_do_update(
            index_elements=[Preference.tenant, Preference.account_id, Preference.channel],
            set_={"enabled": enabled, "updated_at": now}))
    return await get_preferences(session, tenant, account_id)


async def opted_out(
    session: AsyncSession, tenant: str, account_id: uuid.UUID | None, channel: str
) -> bool:
    """True if the account turned ``channel`` off (never for an unknown account)."""
    if account_id is None:
        return False
    return not (await _enabled(session, tenant, account_id))[channel]
