"""The ledger's hook into the payments slice: called once per succeeded payment."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.ledger.service import book_payment
from payment_service.payments.models import Payment

__all__ = ["on_payment_succeeded"]


async def on_payment_succeeded(session: AsyncSession, payment: Payment) -> None:
    """Book ``payment`` (just moved to ``succeeded``, row locked) in the caller's transaction:
    clearing debited, each line item's revenue account credited. Idempotent (a second call
    books nothing); must not commit."""
    await book_payment(session, payment)
