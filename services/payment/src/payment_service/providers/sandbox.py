"""The sandbox provider: a stand-in for a real one, hosted by the payment service itself.

Its pay page is ``GET /sandbox/pay/{provider_payment_id}`` (:mod:`.sandbox_page`); pressing a
button there records the decision (:mod:`.sandbox_notifications`), and the worker sends it as a
signed webhook (:mod:`.sandbox_delivery`) to ``POST /providers/sandbox/webhooks``
(:mod:`.webhooks`), exactly as a real provider would: later than the button press, retried until
answered, so possibly more than once. :meth:`SandboxProvider.fetch_status` answers from the
recorded decision.
Refunds succeed at once. Its settlement is what the payment service recorded as captured and
refunded through it, plus :attr:`SandboxProvider.settlement_adjustments` (a test seam to make
the provider disagree with the ledger).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, column, select, table
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from payment_service.payments import events
from payment_service.payments.models import Payment, PaymentHistory
from payment_service.providers.base import (
    HostedPayment,
    ProviderOutcome,
    ProviderRefund,
    Settlement,
    SettlementLine,
)
from payment_service.providers.sandbox_notifications import decision_of

__all__ = ["PROVIDER_ID_PATTERN", "SANDBOX", "SandboxProvider"]

SANDBOX: Final = "sandbox"
PROVIDER_ID_PATTERN: Final = r"^sbx_[A-Za-z0-9_-]{16,64}$"

# The refunds table belongs to the refunds slice; the sandbox reads the columns it settles.
_REFUNDS = table(
    "refunds",
    column("id", UUID(as_uuid=True)),
    column("payment_id", UUID(as_uuid=True)),
    column("amount"),
    column("status"),
    column("provider_refund_id"),
    column("finished_at"),
)


class SandboxProvider:
    """A :class:`~payment_service.providers.base.PaymentProvider` without money.

    Provider ids are ``sbx_`` plus an HMAC of our payment id, so opening the same payment again
    gives the same id and nobody can guess one. ``session_factory`` is needed only for
    :meth:`settlement` and :meth:`fetch_status`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        secret: str,
        session_factory: async_sessionmaker[AsyncSession] | None = None,
        time_zone: str = "Europe/Berlin",
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._key = hmac.new(secret.encode("utf-8"), b"sandbox-ids", hashlib.sha256).digest()
        self._sessions = session_factory
        self._zone = ZoneInfo(time_zone)
        self.settlement_adjustments: list[SettlementLine] = []

    @property
    def name(self) -> str:
        return SANDBOX

    def _derive(self, kind: str, value: str) -> str:
        mac = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"sbx_{mac[:32]}"

    async def create_hosted_payment(self, payment: Payment) -> HostedPayment:
        """The pay page of ``payment`` on this service; idempotent on ``payment.id``."""
        provider_id = self._derive("payment", str(payment.id))
        return HostedPayment(provider_id, f"{self._base_url}/sandbox/pay/{provider_id}")

    async def refund(
        self, payment: Payment, amount: int, *, idempotency_key: str | None = None
    ) -> ProviderRefund:
        """Always succeeds at once; the same ``idempotency_key`` gives the same refund id."""
        if amount <= 0:
            raise ValueError("a refund needs a positive amount")
        key = idempotency_key or str(uuid.uuid4())
        return ProviderRefund(self._derive("refund", key), "succeeded")

    async def fetch_status(self, payment: Payment) -> ProviderOutcome | None:
        """The decision made on the pay page, under its webhook's id; None while undecided."""
        if self._sessions is None:
            raise RuntimeError("SandboxProvider.fetch_status needs a session_factory")
        if payment.provider_payment_id is None:
            return None
        async with self._sessions() as session:
            decided = await decision_of(session, payment.provider_payment_id)
        if decided is None:
            return None
        return ProviderOutcome(
            provider=SANDBOX, notification_id=decided.id, kind=decided.outcome_kind,
            provider_payment_id=decided.provider_payment_id, amount=decided.amount,
            currency=decided.currency, reason=decided.reason, occurred_at=decided.decided_at,
        )

    async def settlement(self, day: date) -> Settlement:
        """Payments captured and refunds paid through the sandbox on ``day`` (Europe/Berlin
        by default), plus :attr:`settlement_adjustments` of that day."""
        if self._sessions is None:
            raise RuntimeError("SandboxProvider.settlement needs a session_factory")
        start = datetime.combine(day, time.min, self._zone)
        end = start + timedelta(days=1)
        async with self._sessions() as session:
            lines = [*await _captures(session, start, end), *await _refunds(session, start, end)]
        lines += [a for a in self.settlement_adjustments
                  if start <= a.settled_at.astimezone(self._zone) < end]
        return Settlement(SANDBOX, day, tuple(lines))


def _window(stmt: Select[tuple[Payment, PaymentHistory]], start: datetime,
            end: datetime) -> Select[tuple[Payment, PaymentHistory]]:
    return stmt.where(PaymentHistory.occurred_at >= start, PaymentHistory.occurred_at < end)


async def _captures(
    session: AsyncSession, start: datetime, end: datetime
) -> Sequence[SettlementLine]:
    stmt = _window(
        select(Payment, PaymentHistory)
        .join(PaymentHistory, PaymentHistory.payment_id == Payment.id)
        .where(Payment.provider == SANDBOX,
               PaymentHistory.event_type.in_([events.SUCCEEDED, events.LATE_SUCCEEDED])),
        start, end,
    )
    lines = []
    for payment, entry in (await session.execute(stmt)).all():
        captured = entry.data.get("captured_amount", payment.amount)
        lines.append(SettlementLine(
            kind="payment", tenant=payment.tenant, payment_id=payment.id,
            provider_reference=payment.provider_payment_id or str(payment.id),
            amount=int(captured) if isinstance(captured, int) else payment.amount,
            currency=payment.currency, settled_at=entry.occurred_at,
        ))
    return lines


async def _refunds(
    session: AsyncSession, start: datetime, end: datetime
) -> Sequence[SettlementLine]:
    stmt = (
        select(Payment, _REFUNDS.c.id, _REFUNDS.c.amount, _REFUNDS.c.provider_refund_id,
               _REFUNDS.c.finished_at)
        .join(_REFUNDS, _REFUNDS.c.payment_id == Payment.id)
        .where(and_(Payment.provider == SANDBOX, _REFUNDS.c.status == "succeeded",
                    _REFUNDS.c.finished_at >= start, _REFUNDS.c.finished_at < end))
    )
    return [
        SettlementLine(
            kind="refund", tenant=payment.tenant, payment_id=payment.id, refund_id=refund_id,
            provider_reference=provider_refund_id or str(refund_id), amount=int(amount),
            currency=payment.currency, settled_at=finished_at,
        )
        for payment, refund_id, amount, provider_refund_id, finished_at
        in (await session.execute(stmt)).all()
    ]
