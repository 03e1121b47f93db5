"""The payments API: create, list, get, cancel and the history of one payment. Each route
parses, makes one use case call and responds; the request's unit of work commits (ADR 0011).
"""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Response, status

from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import IdempotencyKey, accept_idempotency_key
from city_shared.pagination import CursorQuery
from payment_service.payments import service
from payment_service.payments.access import Visibility, client_source
from payment_service.payments.dependencies import (
    PaymentConfigDep,
    SettingsDep,
    VisibilityDep,
    WriterDep,
)
from payment_service.payments.models import Payment, PaymentStatus
from payment_service.payments.schemas import (
    HistoryEntryRead,
    Link,
    PaymentCreate,
    PaymentHistoryRead,
    PaymentList,
    PaymentRead,
)
from payment_service.payments.service import PaymentFilters
from payment_service.payments.types import Instant, Reference, Slug
from payment_service.providers.registry import ProvidersDep

__all__ = ["router"]

router = APIRouter(prefix="/payments", tags=["payments"])


def _read(payment: Payment, v: Visibility, base_url: str) -> PaymentRead:
    return PaymentRead.of(payment, base_url, departments=v.departments)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a payment (or get the existing one for this reference)",
    responses={
        200: {"model": PaymentRead, "description": "The source already has a payment with "
              "this reference and the same terms: that payment."},
        **problem_responses(400, 401, 403, 409, 422),
    },
)
async def create_payment(
    data: PaymentCreate,
    response: Response,
    session: SessionDep,
    principal: WriterDep,
    settings: SettingsDep,
    config: PaymentConfigDep,
    providers: ProvidersDep,
    _key: IdempotencyKey,
) -> PaymentRead:
    """Machine clients with ``payment:write``; ``Idempotency-Key`` required. 201 with the pay
    page in ``next_url``; 200 with the existing payment when the same source sends the same
    reference again; 409 ``reference_conflict`` when that reference was used for another
    amount, currency or line items; 422 ``line_items_mismatch``."""
    source = client_source(principal, settings.client_sources)
    payment, created = await service.create_payment(
        session, data, tenant=principal.tenant, source=source, provider=providers.default,
        config=config,
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    response.headers["Location"] = f"{config.base_url}/payments/{payment.id}"
    return PaymentRead.of(payment, config.base_url)


@router.get(
    "",
    summary="List payments, newest first",
    responses=problem_responses(401, 403, 422),
)
async def list_payments(
    session: SessionDep,
    v: VisibilityDep,
    config: PaymentConfigDep,
    status_: Annotated[PaymentStatus | None, Query(alias="status")] = None,
    reference: Annotated[Reference | None, Query()] = None,
    department: Annotated[Slug | None, Query()] = None,
    created_from: Annotated[Instant | None, Query(description="Inclusive.")] = None,
    created_to: Annotated[Instant | None, Query(description="Exclusive.")] = None,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PaymentList:
    """Only payments the caller may see: citizens their own, staff those with a line item of
    their departments (showing only those line items), clients with ``payment:read`` all of
    their tenant. 422 ``invalid_cursor``."""
    filters = PaymentFilters(status=status_, reference=reference, department=department,
                             created_from=created_from, created_to=created_to)
    page, next_cursor = await service.list_payments(session, v, filters, cursor=cursor,
                                                    limit=limit)
    query: list[tuple[str, object]] = [
        ("status", status_), ("reference", reference), ("department", department),
        ("created_from", created_from.isoformat() if created_from else None),
        ("created_to", created_to.isoformat() if created_to else None), ("limit", limit),
    ]
    params = {name: str(value) for name, value in query if value is not None}
    links = {"self": Link(href=f"{config.base_url}/payments?{urlencode(params)}")}
    if next_cursor is not None:
        links["next"] = Link(
            href=f"{config.base_url}/payments?{urlencode({**params, 'cursor': next_cursor})}"
        )
    return PaymentList(items=[_read(p, v, config.base_url) for p in page],
                       next_cursor=next_cursor, links=links)


@router.get(
    "/{payment_id}",
    summary="Get a payment",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_payment(
    payment_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    v: VisibilityDep,
    config: PaymentConfigDep,
) -> PaymentRead:
    """404 ``payment_not_found`` also for payments the caller may not see. The ``ETag`` is the
    payment's version (for ``If-Match`` on changes)."""
    payment = await service.get_payment(session, v, payment_id)
    response.headers["ETag"] = f'"{payment.version}"'
    return _read(payment, v, config.base_url)


@router.post(
    "/{payment_id}/cancel",
    summary="Cancel an open payment",
    responses=problem_responses(401, 403, 404, 409),
    dependencies=[Depends(accept_idempotency_key)],
)
async def cancel_payment(
    payment_id: uuid.UUID,
    session: SessionDep,
    principal: WriterDep,
    settings: SettingsDep,
    config: PaymentConfigDep,
) -> PaymentRead:
    """Machine clients with ``payment:write``, for their own source's payments. A created or
    started payment becomes ``cancelled`` (reason ``cancelled_by_service``); cancelling again
    returns it unchanged; 409 ``invalid_transition`` once it succeeded, failed or expired."""
    v = Visibility(principal.tenant, source=client_source(principal, settings.client_sources))
    payment = await service.cancel_payment(session, v, payment_id)
    return PaymentRead.of(payment, config.base_url)


@router.get(
    "/{payment_id}/events",
    summary="The history of a payment",
    responses=problem_responses(401, 403, 404, 422),
)
async def payment_events(
    payment_id: uuid.UUID, session: SessionDep, v: VisibilityDep
) -> PaymentHistoryRead:
    """Every change, oldest first: the event type, the status after it, the reason."""
    entries = await service.payment_history(session, v, payment_id)
    return PaymentHistoryRead(payment_id=payment_id,
                              events=[HistoryEntryRead.of(e) for e in entries])
