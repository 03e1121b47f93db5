"""Inbound events of the payments slice, with narrow models of what they read.

- ``city.payment.request.v1`` on ``payment.requests`` (command): create the payment for the
  requester (source = the event's source without the slash, e.g. ``ticketing``), exactly as
  ``POST /payments`` would for that service; the same reference is the same payment, whichever
  way it came. The answer is the ``created`` event (caused by the command, carrying the
  requester's reference); a repeated request for an existing payment publishes nothing new.
- ``city.identity.account.erased.v1`` on ``identity.accounts``: pseudonymise the person's
  payments (payer account, e-mail, name removed; bookings kept).

Invalid data raises ``ValidationError`` or :class:`PermanentFailure`: dead letters, no retry.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.consumer import Handler, PermanentFailure
from city_shared.envelope import Event
from city_shared.errors import DomainError
from payment_service.payments import service
from payment_service.payments.errors import ReturnUrlNotAllowed
from payment_service.payments.schemas import LineItemCreate, PayerCreate, PaymentCreate
from payment_service.payments.service import PaymentConfig
from payment_service.payments.types import (
    Amount,
    CostCentre,
    Currency,
    LineAmount,
    Metadata,
    Reference,
    ReturnUrl,
    Slug,
    Text,
)
from payment_service.providers.base import PaymentProvider

__all__ = [
    "ACCOUNT_ERASED",
    "IDENTITY_ACCOUNTS_TOPIC",
    "PAYMENT_REQUEST",
    "AccountErasedData",
    "PaymentRequestData",
    "on_account_erased",
    "payment_requested_handler",
]

log = logging.getLogger(__name__)

PAYMENT_REQUEST: Final = "city.payment.request.v1"
# identity owns the topic; services never import each other, so the names are repeated here.
IDENTITY_ACCOUNTS_TOPIC: Final = "identity.accounts"
ACCOUNT_ERASED: Final = "city.identity.account.erased.v1"


class _LineItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    department: Slug
    cost_centre: CostCentre
    description: Text
    amount: LineAmount


class _Payer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    account_id: uuid.UUID | None = None


class PaymentRequestData(BaseModel):
    """``city.payment.request.v1``: "please collect this amount for this reference"."""

    model_config = ConfigDict(extra="ignore")

    request_id: uuid.UUID
    tenant: str
    reference: Reference
    amount: Amount
    currency: Currency = "EUR"
    description: Text
    return_url: ReturnUrl | None = None
    line_items: Annotated[list[_LineItem], Field(min_length=1, max_length=50)]
    payer: _Payer | None = None
    metadata: Metadata = Field(default_factory=dict)

    def to_create(self) -> PaymentCreate:
        """The same request as ``POST /payments`` would carry it."""
        return PaymentCreate(
            amount=self.amount, currency=self.currency, description=self.description,
            reference=self.reference, return_url=self.return_url, metadata=self.metadata,
            line_items=[LineItemCreate(**item.model_dump()) for item in self.line_items],
            payer=PayerCreate(account_id=self.payer.account_id) if self.payer else None,
        )


class AccountErasedData(BaseModel):
    """``city.identity.account.erased.v1``: whose data to pseudonymise."""

    model_config = ConfigDict(extra="ignore")

    account_id: uuid.UUID
    tenant: str


def payment_requested_handler(provider: PaymentProvider, config: PaymentConfig) -> Handler:
    """The handler of ``city.payment.request.v1``, opening new payments at ``provider``."""

    async def on_payment_requested(session: AsyncSession, event: Event) -> None:
        data = event.parse(PaymentRequestData)
        if data.tenant != event.tenant:
            raise PermanentFailure("data.tenant differs from the event's tenant")
        source = event.source.removeprefix("/")
        create = data.to_create()
        try:
            service.check_return_url(create.return_url, config)
        except ReturnUrlNotAllowed as exc:
            # The citizen still pays: the page confirms itself instead of redirecting to an
            # origin the city did not register (a dead letter would leave the order unpaid).
            log.warning("payment request with an unregistered return_url; dropped",
                        extra={"reference": data.reference, "origin": exc.extra.get("origin")})
            create = create.model_copy(update={"return_url": None})
        try:
            await service.create_payment(
                session, create, tenant=event.tenant, source=source,
                provider=provider, config=config, caused_by=event,
            )
        except DomainError as exc:
            if exc.status >= 500:
                raise
            raise PermanentFailure(f"payment request rejected: {exc.code}") from exc

    return on_payment_requested


async def on_account_erased(session: AsyncSession, event: Event) -> None:
    """Pseudonymise the erased person's payments; idempotent (a second delivery finds
    nothing left to remove)."""
    data = event.parse(AccountErasedData)
    if data.tenant != event.tenant:
        raise PermanentFailure("data.tenant differs from the event's tenant")
    await service.forget_payer(session, data.tenant, data.account_id)
