"""Paying a case's fee back. STUB: the money helper replaces the body; the signature is the
contract the workflow calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.models import Case

__all__ = ["refund_fee"]


async def refund_fee(session: AsyncSession, case: Case, *, reason: str, now: datetime) -> int:
    """Ask payment to pay the case's paid fee back (``city.payment.refund.request.v1``), at
    most once per case whatever the retries; returns the amount asked back (0: nothing was
    paid, or it was asked back already)."""
    return 0
