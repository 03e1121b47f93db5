"""Inbound identity events that keep the contact directory, with narrow models of what they
read.

- ``city.identity.account.registered.v1`` / ``updated.v1``: upsert e-mail and locale. An older
  event never overwrites a newer one (``updated_at`` is the event's time).
- ``city.identity.account.erased.v1``: see :mod:`notification_service.erasure`.
"""

from __future__ import annotations

import uuid
from typing import Final

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.consumer import PermanentFailure
from city_shared.envelope import Event
from notification_service.contacts.models import Contact

__all__ = ["ACCOUNT_ERASED", "ACCOUNT_REGISTERED", "ACCOUNT_UPDATED", "IDENTITY_ACCOUNTS_TOPIC",
           "on_account_changed"]

# identity owns the topic; services never import each other, so the names are repeated here.
IDENTITY_ACCOUNTS_TOPIC: Final = "identity.accounts"
ACCOUNT_REGISTERED: Final = "city.identity.account.registered.v1"
ACCOUNT_UPDATED: Final = "city.identity.account.updated.v1"
ACCOUNT_ERASED: Final = "city.identity.account.erased.v1"


class AccountContactData(BaseModel):
    """What registered / updated carry that notification needs."""

    model_config = ConfigDict(extra="ignore")

    account_id: uuid.UUID
    tenant: str
    email: str | None = None
    #: Sent by ``account.updated``; ``account.registered`` comes before any verification.
    email_verified: bool = False
    locale: str | None = None


async def on_account_changed(session: AsyncSession, event: Event) -> None:
    """Upsert the account's e-mail and locale; idempotent, and order-tolerant by event time."""
    data = event.parse(AccountContactData)
    if data.tenant != event.tenant:
        raise PermanentFailure("data.tenant differs from the event's tenant")
    locale = data.locale if data.locale in ("de", "en") else None
    statement = insert(Contact).values(
        tenant=data.tenant, account_id=data.account_id, email=data.email,
        email_verified=data.email_verified, locale=locale, updated_at=event.time,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Contact.tenant, Contact.account_id],
        set_={"email": statement.excluded.email,
              "email_verified": statement.excluded.email_verified,
              "locale": func.coalesce(statement.excluded.locale, Contact.locale),
              "updated_at": statement.excluded.updated_at},
        where=Contact.updated_at <= statement.excluded.updated_at,
    )
    await session.execute(statement)
