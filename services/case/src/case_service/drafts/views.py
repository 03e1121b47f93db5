"""How a draft is shown to its owner: the pinned form in the owner's language, the partial
validation, the fee preview and the attachments. Reads only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.models import Attachment
from case_service.attachments.schemas import AttachmentRead
from case_service.catalogue.models import Service, ServiceDefinition
from case_service.catalogue.resolution import Effective, definition_by_id, resolve
from case_service.drafts import repository
from case_service.drafts.models import Draft
from case_service.drafts.schemas import (
    DraftRead,
    FieldErrorRead,
    FormFieldRead,
    FormRead,
    ServiceRef,
    VerifiedMark,
)
from case_service.fees import FeeNotComputable, FeeQuote, FeeRule, quote_fee
from case_service.forms import FieldError, Locale, form_fields, validate_form
from city_shared.errors import NotFound

__all__ = ["PrefillState", "draft_view", "drafts_view", "fee_preview"]

PrefillState = Literal["applied", "unavailable", "not_applicable"]


def fee_preview(draft: Draft, definition: ServiceDefinition,
                effective: Effective | None) -> FeeQuote | None:
    """The fee of the pinned definition's rule with the tenant's parameters in force today
    (``effective``; None when there are none) for the data so far; None when it cannot be
    computed yet (data incomplete, no parameters)."""
    if effective is None:
        return None
    try:
        rule = FeeRule.model_validate(definition.fee_rule)
        return quote_fee(rule, effective.parameters.fee_values, draft.data,
                         currency=effective.parameters.currency)
    except (FeeNotComputable, ValidationError):
        return None


async def _in_force(session: AsyncSession, draft: Draft, now: datetime) -> Effective | None:
    try:
        return await resolve(session, tenant=draft.tenant, service_id=draft.service_id,
                             on=now.date())
    except NotFound:
        return None


async def draft_view(session: AsyncSession, draft: Draft, *, locale: Locale, now: datetime,
                     prefill: PrefillState | None = None, effective: Effective | None = None,
                     errors: list[FieldError] | None = None,
                     attachments: Sequence[Attachment] | None = None) -> DraftRead:
    """``draft`` as :class:`DraftRead`, labelled and validated in ``locale``. What the caller
    has at hand is not read again: ``effective`` (the service as offered today), ``errors``
    (the partial validation of ``draft.data`` in ``locale``), ``attachments`` (the draft's,
    oldest first; a new draft has none)."""
    effective = effective or await _in_force(session, draft, now)
    # The pinned version is usually the newest one ``effective`` holds: then no read.
    definition = (effective.definition if effective is not None
                  and effective.definition.id == draft.definition_id
                  else await definition_by_id(session, draft.definition_id))
    service = effective.service if effective is not None else await session.get(
        Service, draft.service_id)
    if service is None:  # a foreign key guards it; read for the type checker
        raise NotFound()
    schema = definition.form_schema
    if errors is None:
        errors = validate_form(schema, draft.data, locale=locale, partial=True)
    if attachments is None:
        attachments = await repository.attachments_of(session, draft.id)
    return DraftRead(
        id=draft.id,
        tenant=draft.tenant,
        service=ServiceRef(id=service.id, leika_key=service.leika_key, names=definition.names),
        definition_version=definition.version,
        status="open" if draft.submitted_case_id is None else "submitted",
        case_id=draft.submitted_case_id,
        account_id=draft.account_id,
        form=FormRead(
            fields=[FormFieldRead(name=f.name, label=f.label, help=f.help, required=f.required,
                                  prefill=f.prefill) for f in form_fields(schema, locale)],
            json_schema=schema,
        ),
        data=draft.data,
        verified={pointer: VerifiedMark.model_validate(mark)
                  for pointer, mark in draft.verified.items()},
        prefill=prefill,
        errors=[FieldErrorRead(pointer=e.pointer, code=e.code, message=e.message)
                for e in errors],
        fee=fee_preview(draft, definition, effective),
        attachments=[AttachmentRead.of(a) for a in attachments],
        version=draft.version,
        created_at=draft.created_at,
        updated_at=draft.updated_at,
        expires_at=draft.expires_at,
    )


async def drafts_view(session: AsyncSession, drafts: Sequence[Draft], *, locale: Locale,
                      now: datetime) -> list[DraftRead]:
    """Each of ``drafts`` as :func:`draft_view` shows it, reading each service's offer once
    and the attachments of all in one query (a page of drafts is no N+1)."""
    attachments = await repository.attachments_by_draft(session, [d.id for d in drafts])
    offers: dict[object, Effective | None] = {}
    views = []
    for draft in drafts:
        if draft.service_id not in offers:
            offers[draft.service_id] = await _in_force(session, draft, now)
        views.append(await draft_view(session, draft, locale=locale, now=now,
                                      effective=offers[draft.service_id],
                                      attachments=attachments.get(draft.id, [])))
    return views
