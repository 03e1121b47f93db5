"""Refunds API: request a refund of a payment, list a payment's refunds, read one.

Each route parses, makes one use case call and responds; the request's unit of work commits.
``POST`` records the refund and hands it to the provider in one use case
(:func:`.service.create_refund`). ``Idempotency-Key`` is required; ``If-Match`` with the
payment's ``ETag`` makes a stale request fail with 412.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status

from city_shared.auth import CurrentPrincipal
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import IdempotencyKey
from payment_service.payments.dependencies import SettingsDep
from payment_service.payments.models import Payment
from payment_service.providers.registry import ProvidersDep
from payment_service.refunds import service
from payment_service.refunds.access import refund_readers, refund_requesters
from payment_service.refunds.preconditions import payment_etag
from payment_service.refunds.schemas import RefundCreate, RefundList, RefundRead

__all__ = ["router"]

router = APIRouter(tags=["refunds"])

_IF_MATCH = (
    "The payment's `ETag` as read (e.g. `\"3\"`): the refund is made only if the payment has "
    "not changed since, else 412 `precondition_failed`. `*` or no header: no check."
)
_IfMatch = Annotated[str | None, Header(alias="If-Match", description=_IF_MATCH,
                                        max_length=1024)]


async def _readable(session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep,
                    payment_id: uuid.UUID) -> Payment:
    return await service.readable_payment(
        session, refund_readers(principal, settings.client_sources), payment_id)


ReadablePayment = Annotated[Payment, Depends(_readable)]


def _requested_by(kind: str, sub: str) -> str:
    return f"{kind}:{sub}"[:100]


@router.post(
    "/payments/{payment_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    summary="Pay back all or part of a payment",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 422),
)
async def create_refund(
    payment_id: uuid.UUID,
    data: RefundCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    providers: ProvidersDep,
    settings: SettingsDep,
    response: Response,
    _key: IdempotencyKey,
    if_match: _IfMatch = None,
) -> RefundRead:
    """For a department's ``cashier`` or ``manager`` (a department with a line item on the
    payment; only that department's ``line_items``, 403 ``refund_outside_department``
    otherwise, also for a whole payment of several departments), a tenant admin and clients
    with ``payment:refund``. 422 ``unknown_line_item``; 409 ``refund_exceeds_available`` (with
    ``available``) or ``payment_not_refundable``; 412 ``precondition_failed`` when
    ``If-Match`` is stale. The answer is ``succeeded`` or ``failed`` when the provider decided
    at once, else ``submitted``; the payment's new ``ETag`` comes with it."""
    payment, refund = await service.create_refund(
        session, refund_requesters(principal), payment_id, data.amount, reason=data.reason,
        requested_by=_requested_by(principal.kind, principal.sub), providers=providers,
        idempotency_key=_key, if_match=if_match, line_positions=data.line_items,
    )
    base = settings.base_url
    response.headers["Location"] = f"{base}/payments/{payment.id}/refunds/{refund.id}"
    response.headers["ETag"] = payment_etag(payment.version)
    return RefundRead.of(refund, payment, base)


@router.get(
    "/payments/{payment_id}/refunds",
    summary="The refunds of a payment",
    responses=problem_responses(401, 403, 404, 422),
)
async def list_refunds(
    payment: ReadablePayment, session: SessionDep, settings: SettingsDep, response: Response
) -> RefundList:
    """Whoever may read the payment, and clients with ``payment:refund``. The ``ETag`` is the
    payment's, for ``If-Match`` on the next refund."""
    refunds = await service.list_refunds(session, payment)
    figures = await service.refundable(session, payment)
    response.headers["ETag"] = payment_etag(payment.version)
    return RefundList(
        payment_id=payment.id, amount=payment.amount, currency=payment.currency,
        refunded_amount=figures.refunded, pending_amount=figures.pending,
        refundable_amount=figures.available,
        items=[RefundRead.of(r, payment, settings.base_url) for r in refunds],
    )


@router.get(
    "/payments/{payment_id}/refunds/{refund_id}",
    summary="One refund of a payment",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_refund(
    refund_id: uuid.UUID, payment: ReadablePayment, session: SessionDep, settings: SettingsDep
) -> RefundRead:
    """404 ``refund_not_found`` for a refund of another payment."""
    refund = await service.get_refund(session, payment, refund_id)
    return RefundRead.of(refund, payment, settings.base_url)
