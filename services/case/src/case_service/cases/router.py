"""The cases API: submit a draft, apply on a citizen's behalf, read and list cases, download an
attachment, pay (redirect to the checkout page, or request a new payment). Each route parses,
runs one use case and responds; the request's unit of work commits it together with the
``Idempotency-Key`` record, or rolls it back when the route raises."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import RedirectResponse

from case_service.cases import partner, views
from case_service.cases.dependencies import CaseVisibilityDep, SettingsDep
from case_service.cases.schemas import CaseCreate, CaseList, CaseRead
from case_service.drafts.submit import submit_draft
from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import IdempotencyKey
from city_shared.pagination import CursorQuery

__all__ = ["router"]

router = APIRouter(tags=["cases"])


@router.post(
    "/drafts/{draft_id}/submit",
    status_code=status.HTTP_201_CREATED,
    summary="Submit a draft: it becomes a case (and the fee is requested from payment)",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def submit(
    draft_id: uuid.UUID, response: Response, session: SessionDep,
    principal: CurrentPrincipal, settings: SettingsDep, _key: IdempotencyKey,
) -> CaseRead:
    """The draft's owner; ``Idempotency-Key`` required. 201 with the case: ``number``,
    ``status`` (``awaiting_payment`` when a fee is due now: follow ``payment.pay_url``, else
    ``submitted``), ``fee``. 403 ``insufficient_assurance`` with ``required_acr`` (and a
    ``WWW-Authenticate`` step-up challenge) when the login is too weak for the service; 404
    ``draft_not_found``; 409 ``draft_submitted`` with ``case_id``; 422 ``form_invalid`` (with
    ``errors``), ``attachments_missing`` (with ``kinds``)."""
    opened = await submit_draft(session, principal, draft_id, settings=settings,
                                now=datetime.now(UTC))
    response.headers["Location"] = f"{settings.base_url}/cases/{opened.case.id}"
    return await views.view(session, principal, opened.case, settings,
                            attachments=opened.attachments, history=opened.history)


@router.post(
    "/cases",
    status_code=status.HTTP_201_CREATED,
    summary="Apply on a citizen's behalf (city systems with case:write)",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def create_case(
    body: CaseCreate, response: Response, session: SessionDep, principal: CurrentPrincipal,
    settings: SettingsDep, _key: IdempotencyKey,
) -> CaseRead:
    """``Idempotency-Key`` required; channel ``partner``. 422 ``attachments_not_possible``
    when the service requires attachments (apply with a draft instead), ``form_invalid``."""
    case = await partner.apply_for(session, principal, body, settings=settings,
                                   now=datetime.now(UTC))
    response.headers["Location"] = f"{settings.base_url}/cases/{case.id}"
    return await views.view(session, principal, case, settings)


@router.get("/cases", summary="List cases, newest first",
            responses=problem_responses(401, 403, 422))
async def list_cases(
    session: SessionDep, v: CaseVisibilityDep,
    status_: Annotated[str | None, Query(alias="status", pattern=r"^[a-z][a-z0-9_]{0,23}$")
                       ] = None,
    service_id: uuid.UUID | None = None, cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CaseList:
    """Citizens see their own cases, staff those of their departments, tenant admins and
    clients with ``case:read`` all of the tenant. 422 ``invalid_cursor``."""
    return await views.list_cases(session, v, status=status_, service_id=service_id,
                                  cursor=cursor, limit=limit)


@router.get("/cases/{case_id}", summary="One case with its fee, payment and history",
            responses=problem_responses(401, 403, 404, 422))
async def get_case(case_id: uuid.UUID, response: Response, session: SessionDep,
                   principal: CurrentPrincipal, v: CaseVisibilityDep,
                   settings: SettingsDep) -> CaseRead:
    """404 ``case_not_found`` also for a case the caller may not see. ``data`` only for the
    applicant and the staff of the case's department. ``ETag``: the case's version (send it
    as ``If-Match`` with a change); ``actions``: what the caller may do now."""
    case = await views.read_case(session, principal, v, case_id, settings)
    response.headers["ETag"] = f'"{case.version}"'
    return case


@router.get("/cases/{case_id}/attachments/{attachment_id}",
            summary="Download an attachment of a case", response_class=Response,
            responses=problem_responses(401, 403, 404, 422))
async def download_attachment(case_id: uuid.UUID, attachment_id: uuid.UUID,
                              session: SessionDep, v: CaseVisibilityDep,
                              settings: SettingsDep) -> Response:
    """Whoever may read the case. The content with its detected media type."""
    meta, content = await views.attachment_content(session, v, case_id, attachment_id,
                                                   settings)
    return Response(content, media_type=meta.media_type, headers={
        "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff",
        "Digest": f"sha-256={meta.sha256}"})


@router.get("/cases/{case_id}/pay", status_code=status.HTTP_303_SEE_OTHER,
            summary="Go to the payment page of the case's fee (applicant)",
            response_class=RedirectResponse,
            responses=problem_responses(401, 403, 404, 409, 422))
async def pay(case_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal,
              v: CaseVisibilityDep) -> RedirectResponse:
    """303 to the checkout page once payment opened it. 409 ``payment_pending`` with
    ``Retry-After`` while it is being prepared (or after a failed payment: request a new
    one first), 409 ``nothing_due`` when nothing is to be paid."""
    url = await views.checkout_url(session, principal, v, case_id)
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


@router.post("/cases/{case_id}/payment", status_code=status.HTTP_202_ACCEPTED,
             summary="Request a new payment after a failed or expired one (applicant)",
             responses=problem_responses(400, 401, 403, 404, 409, 422))
async def request_payment(case_id: uuid.UUID, session: SessionDep,
                          principal: CurrentPrincipal, v: CaseVisibilityDep,
                          settings: SettingsDep, _key: IdempotencyKey) -> CaseRead:
    """``Idempotency-Key`` required. 202: payment is asked again; ``payment.pay_url`` leads
    to the new page once it is there. 409 ``nothing_due``, ``invalid_transition`` (the
    payment is still open)."""
    case = await views.request_new_payment(session, principal, v, case_id,
                                           settings=settings, now=datetime.now(UTC))
    return await views.view(session, principal, case, settings)
