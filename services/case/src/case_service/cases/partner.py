"""A city system's application on a citizen's behalf (``POST /cases``, channel ``partner``):
no draft and so no attachments; the newest definition and today's parameters apply."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.access import WRITE_SCOPE
from case_service.cases.errors import AttachmentsNotPossible, NotAnApplicant
from case_service.cases.models import Case
from case_service.cases.schemas import CaseCreate
from case_service.cases.service import open_case, required_kinds
from case_service.catalogue.resolution import resolve
from case_service.settings import CaseSettings
from city_shared.auth import Principal
from city_shared.journey import capture

__all__ = ["apply_for"]


async def apply_for(session: AsyncSession, principal: Principal, body: CaseCreate, *,
                    settings: CaseSettings, now: datetime) -> Case:
    """Open a case for ``body.account_id`` on behalf of the client ``principal``. The trust
    level is the client's responsibility (it is trusted with ``case:write``).

    :raises NotAnApplicant: (403) not a client with ``case:write``.
    :raises ServiceNotFound | ServiceNotOffered | NoParametersOn: (404).
    :raises AttachmentsNotPossible: (422 ``attachments_not_possible``) the service requires
        attachments.
    :raises FormInvalid | FeeNotComputable: (422) see ``open_case``.
    """
    if principal.kind != "client":
        raise NotAnApplicant("Only city systems apply through this endpoint; citizens submit "
                             "a draft.")
    if not principal.has_scope(WRITE_SCOPE):
        raise NotAnApplicant(f"The access token lacks the scope '{WRITE_SCOPE}'.",
                             extra={"required_scope": WRITE_SCOPE})
    effective = await resolve(session, tenant=principal.tenant, service_id=body.service_id,
                              on=now.date())
    kinds = required_kinds(effective.definition)
    if kinds:
        raise AttachmentsNotPossible(kinds)
    return await open_case(
        session, effective=effective, definition=effective.definition, data=body.data,
        verified={}, account_id=body.account_id, submitted_by=f"client:{principal.sub}",
        channel="partner", locale=body.locale, attachments=(), draft_id=None,
        journey=capture(), now=now, settings=settings)
