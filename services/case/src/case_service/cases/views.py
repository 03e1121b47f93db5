"""Reading cases: one case (with its data only for the applicant and the staff of its
department), a page of cases, an attachment's content, and the applicant's payment actions
(the checkout redirect, a new payment after a failed one)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.models import Attachment
from case_service.attachments.storage import blob_storage
from case_service.cases import repository
from case_service.cases.errors import AttachmentNotFound, CaseNotFound, NothingDue, PaymentPending
from case_service.cases.models import Case, CaseHistory
from case_service.cases.schemas import (
    AttachmentMeta,
    CaseList,
    CaseRead,
    CaseSummary,
    HistoryEntry,
    PaymentState,
)
from case_service.cases.service import payment_items
from case_service.catalogue.models import ServiceParameters
from case_service.catalogue.resolution import definition_by_id
from case_service.fees import FeeQuote
from case_service.settings import CaseSettings
from case_service.workflow.actors import actor_of, is_applicant
from case_service.workflow.process_of import process_of
from case_service.workflow.transitions import available_actions
from city_shared.auth import Principal
from city_shared.pagination import Cursor, next_page
from city_shared.visibility import Visibility

__all__ = ["attachment_content", "checkout_url", "is_applicant", "list_cases", "read_case",
           "request_new_payment", "view"]


def _sees_data(principal: Principal, case: Case) -> bool:
    return is_applicant(principal, case) or (
        principal.kind == "staff" and case.department in principal.departments_with())


def _summary(case: Case) -> dict[str, object]:
    return {"id": case.id, "number": case.number, "tenant": case.tenant,
            "department": case.department, "service_id": case.service_id,
            "status": case.status, "channel": case.channel, "fee_amount": case.fee_amount,
            "currency": case.currency, "submitted_at": case.submitted_at,
            "updated_at": case.updated_at}


async def view(session: AsyncSession, principal: Principal, case: Case,
               settings: CaseSettings, *, attachments: Sequence[Attachment] | None = None,
               history: Sequence[CaseHistory] | None = None) -> CaseRead:
    """``case`` as ``principal`` (who may see it) reads it; ``attachments`` (oldest first)
    and ``history`` (in order) are read unless the caller has them (a case just opened)."""
    base = f"{settings.base_url}/cases/{case.id}"
    payment = None if case.payment_status is None else PaymentState(
        status=case.payment_status, payment_id=case.payment_id,
        pay_url=f"{base}/pay" if case.status == "awaiting_payment" else None)
    attachment_metas = [
        AttachmentMeta(id=a.id, kind=a.kind, filename=a.filename, media_type=a.media_type,
                       size=a.size, sha256=a.sha256, download_url=f"{base}/attachments/{a.id}")
        for a in (await repository.attachments_of(session, case.id)
                  if attachments is None else attachments)]
    entries = [HistoryEntry(type=h.type, status=h.status, at=h.at, detail=h.detail)
               for h in (await repository.history_of(session, case.id)
                         if history is None else history)]
    return CaseRead.model_validate({
        **_summary(case), "account_id": case.account_id, "definition_id": case.definition_id,
        "definition_version": case.definition_version,
        "parameters_version": case.parameters_version,
        "fee": FeeQuote.model_validate({k: v for k, v in case.fee.items() if k != "due_now"}),
        "payment": payment, "data": case.data if _sees_data(principal, case) else None,
        "attachments": attachment_metas, "history": entries, "retain_until": case.retain_until,
        "version": case.version, "assignee": case.assignee, "due_at": case.due_at,
        "state_deadline": case.state_deadline, "decision": case.decision,
        "decided_at": case.decided_at, "outcome": case.outcome,
        "refund_status": case.refund_status,
        "actions": available_actions(await process_of(session, case), case, principal)})


async def _visible(session: AsyncSession, v: Visibility, case_id: uuid.UUID, *,
                   for_update: bool = False) -> Case:
    case = await repository.get_visible(session, v, case_id, for_update=for_update)
    if case is None:
        raise CaseNotFound()
    return case


async def read_case(session: AsyncSession, principal: Principal, v: Visibility,
                    case_id: uuid.UUID, settings: CaseSettings) -> CaseRead:
    """:raises CaseNotFound: (404) also for a case ``v`` does not see."""
    return await view(session, principal, await _visible(session, v, case_id), settings)


async def list_cases(session: AsyncSession, v: Visibility, *, status: str | None,
                     service_id: uuid.UUID | None, cursor: str | None,
                     limit: int) -> CaseList:
    """A page of the cases ``v`` sees, newest first. :raises InvalidCursor: (422)."""
    rows = await repository.list_visible(session, v, status=status, service_id=service_id,
                                         cursor=Cursor.parse(cursor), limit=limit)
    page, next_cursor = next_page(rows, limit, lambda c: Cursor(c.submitted_at, c.id))
    return CaseList(items=[CaseSummary.model_validate(_summary(c)) for c in page],
                    next_cursor=next_cursor)


async def attachment_content(session: AsyncSession, v: Visibility, case_id: uuid.UUID,
                             attachment_id: uuid.UUID,
                             settings: CaseSettings) -> tuple[AttachmentMeta, bytes]:
    """An attachment of a case ``v`` sees and its content.

    :raises CaseNotFound: (404) no such visible case. :raises AttachmentNotFound: (404).
    """
    case = await _visible(session, v, case_id)
    for a in await repository.attachments_of(session, case.id):
        if a.id == attachment_id:
            content = await blob_storage(settings).get(session, a.storage_key)
            if content is None:
                break
            return AttachmentMeta(id=a.id, kind=a.kind, filename=a.filename,
                                  media_type=a.media_type, size=a.size, sha256=a.sha256,
                                  download_url=""), content
    raise AttachmentNotFound()


async def _applicants_case(session: AsyncSession, principal: Principal, v: Visibility,
                           case_id: uuid.UUID, *, for_update: bool = False) -> Case:
    case = await _visible(session, v, case_id, for_update=for_update)
    if not is_applicant(principal, case):
        raise CaseNotFound()  # others may read the case, but paying is the applicant's
    return case


async def checkout_url(session: AsyncSession, principal: Principal, v: Visibility,
                       case_id: uuid.UUID) -> str:
    """Where the applicant pays the case's fee.

    :raises NothingDue: (409 ``nothing_due``) no fee, or paid.
    :raises PaymentPending: (409 ``payment_pending`` with ``Retry-After``) payment has not
        answered yet, or the last payment failed (``POST /cases/{id}/payment`` first).
    """
    case = await _applicants_case(session, principal, v, case_id)
    if case.status != "awaiting_payment":
        raise NothingDue("This case has nothing to pay.")
    if case.payment_status == "pending" and case.checkout_url:
        return case.checkout_url
    if case.payment_status in ("failed", "expired"):
        raise PaymentPending("The last payment did not go through; request a new one with "
                             "POST /cases/{id}/payment.", extra={"payment_status":
                                                                 case.payment_status})
    raise PaymentPending("The payment page is being prepared; retry shortly.")


async def request_new_payment(session: AsyncSession, principal: Principal, v: Visibility,
                              case_id: uuid.UUID, *, settings: CaseSettings,
                              now: datetime) -> Case:
    """A new payment attempt for the applicant's case whose last payment failed or expired,
    with the line items of the parameters the case was submitted under.

    :raises NothingDue: (409) nothing to pay. :raises InvalidTransition: (409) a payment is
        still open.
    """
    case = await _applicants_case(session, principal, v, case_id, for_update=True)
    if case.status != "awaiting_payment":
        raise NothingDue("This case has nothing to pay.")
    definition = await definition_by_id(session, case.definition_id)
    parameters = await session.get(ServiceParameters, case.parameters_id)
    assert parameters is not None  # a foreign key keeps it
    items, description = payment_items(case, definition, parameters)
    session.add(case.request_payment_again(items=items, description=description,
                                           return_url=settings.payment_return_url, now=now,
                                           actor=actor_of(principal)))
    return case
