"""Submitting a draft: the draft (row locked) becomes a case under the parameters in force
today and the definition version the draft was started with (a newer library version does not
change it). The route is ``POST /drafts/{draft_id}/submit`` in
:mod:`case_service.cases.router`.

Exactly once per draft: the draft's row lock (``SELECT ... FOR UPDATE``) orders concurrent
submissions; the first sets ``submitted_case_id`` and every later one, even with another
``Idempotency-Key``, sees it and gets 409 ``draft_submitted`` naming the case. (The unique
``cases.draft_id`` is only the last line of defence.)
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.access import draft_owner
from case_service.attachments.models import Attachment
from case_service.cases.errors import DraftSubmitted
from case_service.cases.service import OpenedCase, open_case_in_full
from case_service.catalogue.resolution import TRUST_LEVELS, definition_by_id, resolve, stricter
from case_service.drafts.errors import DraftNotFound
from case_service.drafts.models import Draft
from case_service.settings import CaseSettings
from city_shared.auth import Principal
from city_shared.errors import InsufficientAssurance
from city_shared.journey import capture

__all__ = ["submit_draft"]


async def _lock_draft(session: AsyncSession, principal: Principal, draft_id: uuid.UUID,
                      now: datetime) -> Draft:
    owner = draft_owner(principal)
    draft = await session.scalar(
        select(Draft).where(Draft.id == draft_id, Draft.tenant == principal.tenant,
                            Draft.owner == owner)
        .with_for_update().execution_options(populate_existing=True))
    if draft is None or (draft.submitted_case_id is None and draft.expires_at <= now):
        raise DraftNotFound()
    return draft


async def submit_draft(session: AsyncSession, principal: Principal, draft_id: uuid.UUID, *,
                       settings: CaseSettings, now: datetime) -> OpenedCase:
    """Turn the caller's draft into a case (see the module); the draft becomes read-only.
    Returns the case with its attachments and history (for the answer; nothing is read back).

    :raises Forbidden: (403) staff, a client without ``case:write``.
    :raises DraftNotFound: (404 ``draft_not_found``) not the caller's draft, or expired.
    :raises DraftSubmitted: (409 ``draft_submitted``, ``case_id``) submitted before.
    :raises InsufficientAssurance: (403 ``insufficient_assurance``, ``required_acr``) a
        citizen's login is weaker than the service requires (the stricter of the draft's
        definition and today's parameters).
    :raises ServiceNotFound | ServiceNotOffered | NoParametersOn: (404) not offered today.
    :raises FormInvalid | AttachmentsMissing | FeeNotComputable: (422) see ``open_case``.
    """
    draft = await _lock_draft(session, principal, draft_id, now)
    if draft.submitted_case_id is not None:
        raise DraftSubmitted(draft.submitted_case_id)
    effective = await resolve(session, tenant=draft.tenant, service_id=draft.service_id,
                              on=now.date())
    definition = await definition_by_id(session, draft.definition_id)
    required = stricter(definition.trust_level, effective.parameters.trust_level)
    if principal.kind == "citizen" and (TRUST_LEVELS.index(principal.acr)
                                        < TRUST_LEVELS.index(required)):
        raise InsufficientAssurance(required)
    attachments = (await session.scalars(
        select(Attachment).where(Attachment.draft_id == draft.id)
        .order_by(Attachment.created_at, Attachment.id))).all()
    opened = await open_case_in_full(
        session, effective=effective, definition=definition, data=draft.data,
        verified=draft.verified, account_id=draft.account_id,
        submitted_by=f"{principal.kind}:{principal.sub}",
        channel="online" if principal.kind == "citizen" else "partner", locale=draft.locale,
        attachments=attachments, draft_id=draft.id, journey=capture(), now=now,
        settings=settings)
    draft.submitted_case_id = opened.case.id
    draft.version += 1
    draft.updated_at = now
    return opened
