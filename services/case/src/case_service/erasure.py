"""``city.identity.account.erased.v1`` on ``identity.accounts``: the erased person's drafts are
deleted with their attachments; their submitted cases keep the file (for the retention period of
the service, see :mod:`case_service.retention`) but lose the link to the account.

Only rows of the event's tenant are touched. Invalid data: ``ValidationError`` or
:class:`PermanentFailure` (dead letters, no retry). Idempotent: a second delivery finds nothing
of the person left.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.storage import BlobStorage, blob_storage
from case_service.cases.models import Case
from case_service.drafts import repository as drafts
from case_service.drafts.models import Draft
from case_service.settings import CaseSettings
from city_shared.consumer import Handler, PermanentFailure, Subscription
from city_shared.envelope import Event

__all__ = [
    "ACCOUNT_ERASED",
    "ERASED_SUBMITTER",
    "IDENTITY_ACCOUNTS_TOPIC",
    "build_erasure_subscriptions",
    "forget_account",
    "on_account_erased",
]

# identity owns the topic and the event; services never import each other, so the names are
# repeated here.
IDENTITY_ACCOUNTS_TOPIC: Final = "identity.accounts"
ACCOUNT_ERASED: Final = "city.identity.account.erased.v1"
ERASED_SUBMITTER: Final = "erased-account"
"""What ``Case.submitted_by`` says instead of an erased citizen's account id."""


class AccountErasedData(BaseModel):
    """What this service reads of ``city.identity.account.erased.v1``."""

    model_config = ConfigDict(extra="ignore")

    account_id: uuid.UUID
    tenant: str


async def forget_account(session: AsyncSession, tenant: str, account_id: uuid.UUID, *,
                         storage: BlobStorage, now: datetime | None = None) -> tuple[int, int]:
    """Delete the drafts of ``account_id`` in ``tenant`` (contents first) and unlink its cases;
    flushes, never commits. Returns (drafts deleted, cases unlinked)."""
    now = now or datetime.now(UTC)
    draft_ids = list((await session.scalars(
        select(Draft.id).where(Draft.tenant == tenant, Draft.account_id == account_id)
        .order_by(Draft.id).with_for_update())).all())
    if draft_ids:
        for key in await drafts.storage_keys_of(session, draft_ids):
            await storage.delete(session, key)
        await drafts.delete_drafts(session, draft_ids)
    unlinked = await session.execute(
        update(Case)
        .where(Case.tenant == tenant, Case.account_id == account_id)
        .values(account_id=None, erased_at=now, updated_at=now, version=Case.version + 1)
        .execution_options(synchronize_session=False))
    await session.execute(
        update(Case)
        .where(Case.tenant == tenant, Case.submitted_by == f"citizen:{account_id}")
        .values(submitted_by=ERASED_SUBMITTER)
        .execution_options(synchronize_session=False))
    await session.flush()
    return len(draft_ids), int(getattr(unlinked, "rowcount", 0) or 0)


def on_account_erased(storage: BlobStorage) -> Handler:
    """The handler: forget the erased person in the event's tenant, attachment contents in
    ``storage``.

    :raises PermanentFailure: (from the handler) the data names another tenant than the event.
    """

    async def handle(session: AsyncSession, event: Event) -> None:
        data = event.parse(AccountErasedData)
        if data.tenant != event.tenant:
            raise PermanentFailure("data.tenant differs from the event's tenant")
        await forget_account(session, data.tenant, data.account_id, storage=storage)

    return handle


def build_erasure_subscriptions(settings: CaseSettings) -> tuple[Subscription, ...]:
    """``account.erased`` on ``identity.accounts``, contents in the store ``settings`` name."""
    return (Subscription(IDENTITY_ACCOUNTS_TOPIC, ACCOUNT_ERASED,
                         on_account_erased(blob_storage(settings))),)
