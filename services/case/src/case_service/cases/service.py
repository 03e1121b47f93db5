"""Use cases of cases: open a case (every channel: a draft, a city system, the intake, Open311),
and request a new payment after a failed one. May flush, never commits: the case records its
events and commands, the caller's unit of work writes them to the outbox and commits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.models import Attachment
from case_service.cases import numbering
from case_service.cases.errors import AttachmentsMissing
from case_service.cases.models import Case, CaseHistory, CaseStatus
from case_service.cases.payments import LineItem, line_items
from case_service.catalogue.models import ServiceDefinition, ServiceParameters
from case_service.catalogue.resolution import Effective
from case_service.fees import FeeQuote, FeeRule, quote_fee
from case_service.forms import Locale, require_valid
from case_service.settings import CaseSettings
from case_service.workflow.dates import add_working_days
from case_service.workflow.process_of import remember
from city_shared.journey import JourneyContext

__all__ = ["OpenedCase", "applicant_name", "locale_of", "open_case", "open_case_in_full",
           "payment_items", "required_kinds"]


def locale_of(locale: str) -> Locale:
    """``locale`` if the forms speak it, else German."""
    return "en" if locale == "en" else "de"


def applicant_name(data: Mapping[str, Any]) -> str | None:
    """The applicant's name as the form data gives it (``given_name`` and ``family_name``,
    else ``name``), for staff's search; None when the form asks for no name."""
    parts = [data.get("given_name"), data.get("family_name")]
    words = [p.strip() for p in parts if isinstance(p, str) and p.strip()]
    if not words and isinstance(data.get("name"), str):
        words = [str(data["name"]).strip()]
    return " ".join(words)[:200] or None


def required_kinds(definition: ServiceDefinition) -> list[str]:
    """The attachment kinds ``definition`` requires, in its order."""
    return [str(spec["kind"]) for spec in definition.attachments
            if isinstance(spec, Mapping) and spec.get("required") and "kind" in spec]


def _description(definition: ServiceDefinition, locale: str, number: str) -> str:
    name = definition.names.get(locale_of(locale)) or definition.names.get("de") or ""
    return f"{name} {number}".strip()


def payment_items(case: Case, definition: ServiceDefinition,
                  parameters: ServiceParameters) -> tuple[list[LineItem], str]:
    """The line items of the case's fee (the parameters it was submitted under) and the
    payment's description."""
    description = _description(definition, case.locale, case.number)
    items = line_items(case.fee_amount, department=parameters.department,
                       cost_centre=parameters.cost_centre,
                       revenue_shares=parameters.revenue_shares, description=description)
    return items, description


def quote(definition: ServiceDefinition, parameters: ServiceParameters,
          data: Mapping[str, Any]) -> FeeQuote:
    """The fee of ``data`` under ``definition``'s rule and ``parameters``' values.

    :raises FeeNotComputable: (422) the data cannot be priced.
    """
    return quote_fee(FeeRule.model_validate(definition.fee_rule), parameters.fee_values, data,
                     currency=parameters.currency)


async def open_case(
    session: AsyncSession, *, effective: Effective, definition: ServiceDefinition,
    data: Mapping[str, Any], verified: Mapping[str, Any], account_id: uuid.UUID | None,
    submitted_by: str, channel: str, locale: str, attachments: Sequence[Attachment],
    draft_id: uuid.UUID | None, journey: JourneyContext, now: datetime,
    settings: CaseSettings,
) -> Case:
    """:func:`open_case_in_full`'s case (the use case every channel calls)."""
    opened = await open_case_in_full(
        session, effective=effective, definition=definition, data=data, verified=verified,
        account_id=account_id, submitted_by=submitted_by, channel=channel, locale=locale,
        attachments=attachments, draft_id=draft_id, journey=journey, now=now,
        settings=settings)
    return opened.case


@dataclass(frozen=True)
class OpenedCase:
    """A new case with its attachments (oldest first) and history rows (in order)."""

    case: Case
    attachments: list[Attachment]
    history: list[CaseHistory]


async def open_case_in_full(
    session: AsyncSession, *, effective: Effective, definition: ServiceDefinition,
    data: Mapping[str, Any], verified: Mapping[str, Any], account_id: uuid.UUID | None,
    submitted_by: str, channel: str, locale: str, attachments: Sequence[Attachment],
    draft_id: uuid.UUID | None, journey: JourneyContext, now: datetime,
    settings: CaseSettings,
) -> OpenedCase:
    """Open a case of ``definition`` (the version the applicant filled in) under
    ``effective.parameters``: validate ``data`` fully in ``locale``, check the required
    attachment kinds, price the fee, number the case, move ``attachments`` from the draft to
    the case (or add new, unsaved ones to it), record ``case.submitted`` and, if a fee is due
    now, the payment command. The case is ``awaiting_payment`` if a fee is due now, else
    ``submitted``. Flushes. Returns the case with its attachments and its history rows (what
    a reader of the new case would otherwise read back).

    :raises FormInvalid: (422 ``form_invalid``) with every field error.
    :raises AttachmentsMissing: (422 ``attachments_missing``) naming the missing kinds.
    :raises FeeNotComputable: (422) the fee cannot be computed for ``data``.
    """
    require_valid(definition.form_schema, data, locale_of(locale), False)
    present = {attachment.kind for attachment in attachments}
    missing = [kind for kind in required_kinds(definition) if kind not in present]
    if missing:
        raise AttachmentsMissing(missing)
    parameters = effective.parameters
    fee = quote(definition, parameters, data)
    number = await numbering.next_number(session, parameters.tenant, now.year, settings)
    status: CaseStatus = "awaiting_payment" if fee.due_now > 0 else "submitted"
    case_id = uuid.uuid4()
    case = Case(
        id=case_id, tenant=parameters.tenant, department=parameters.department, number=number,
        service_id=effective.service.id, definition_id=definition.id,
        definition_version=definition.version, parameters_id=parameters.id,
        parameters_version=parameters.version, account_id=account_id,
        submitted_by=submitted_by[:100], channel=channel, status=status, data=dict(data),
        verified=dict(verified), locale=locale_of(locale), fee_amount=fee.due_now,
        currency=fee.currency, fee=fee.model_dump(mode="json"),
        reference=f"case/case/{case_id}", payment_status=None, draft_id=draft_id,
        correlation_id=journey.correlation_id, traceparent=journey.traceparent, version=1,
        submitted_at=now, updated_at=now,
        retain_until=now.date() + timedelta(days=parameters.retention_days),
        due_at=add_working_days(now, definition.processing_days),
        applicant_name=applicant_name(data),
    )
    session.add(case)
    remember(definition)  # the new case's actions are read at once
    items, description = payment_items(case, definition, parameters)
    history = case.submit(leika_key=effective.service.leika_key, items=items,
                          description=description, return_url=settings.payment_return_url,
                          now=now)
    await session.flush()
    session.add_all(history)
    for attachment in attachments:
        attachment.draft_id = None
        attachment.case_id = case.id
        session.add(attachment)  # a channel without drafts (Open311) hands over new rows
    await session.flush()
    return OpenedCase(case=case, attachments=list(attachments), history=history)
