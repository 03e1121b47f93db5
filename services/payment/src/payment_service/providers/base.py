"""The adapter interface every payment provider implements, and what flows through it.

A provider hosts the page where the person pays, moves the money, and later reports what it
settled. The payment service never talks to a provider anywhere else, so a real provider drops
in beside :class:`~payment_service.providers.sandbox.SandboxProvider` without touching the
payments slice. Outcomes come back as :class:`ProviderOutcome` notifications (a webhook, or a
poller for providers without push), applied by ``payments.outcomes.apply_notification``.
The worker's reconciliation job (``payments.reconciliation``) asks :meth:`PaymentProvider.
fetch_status` for payments that waited too long, so a lost webhook only delays an outcome.

How an ePayBL / XBezahldienste adapter fits (XBezahldienste is the XÖV standard of the German
public-sector payment platforms; ePayBL is the Bund-Länder platform behind many of them):

- :meth:`PaymentProvider.create_hosted_payment` -> the standard's payment request
  ("Bezahlvorgang anlegen"): our payment id as the request id (so a repeated call is
  idempotent at the provider), ``reference`` as the purpose / cash reference
  ("Verwendungszweck", "Kassenzeichen"), ``amount`` and ``currency`` as the gross amount, each
  line item as one position with its booking data ("Buchungsdaten": the department's
  ``cost_centre`` as booking key / budget position), ``return_url`` as the redirect URL. The
  answer's transaction id is ``provider_payment_id``, the pay page URL is ``next_url``.
- Status: XBezahldienste reports statuses on request rather than by push, so that adapter polls
  the open payments' transactions and hands each observed status to ``apply_notification``
  with the notification id ``<transaction id>:<status>`` (replays are then dropped the same way
  as webhook replays): paid -> ``succeeded``, failed -> ``failed`` (reason ``declined``),
  cancelled by the payer -> ``failed`` (reason ``cancelled_by_payer``), timed out -> nothing
  (our own expiry decides). A provider with signed webhooks (as the sandbox) verifies them in
  its own router before calling ``apply_notification``.
- :meth:`PaymentProvider.refund` -> the platform's refund ("Erstattung") for the transaction,
  keyed by our refund id; ``submitted`` until the provider confirms.
- :meth:`PaymentProvider.settlement` -> the platform's daily settlement / booking list
  ("Tagesabschluss"), one :class:`SettlementLine` per captured payment and per refund.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol, runtime_checkable

from payment_service.payments.models import Payment

__all__ = [
    "HostedPayment",
    "OutcomeKind",
    "PaymentProvider",
    "ProviderOutcome",
    "ProviderRefund",
    "RefundStatus",
    "Settlement",
    "SettlementLine",
]

RefundStatus = Literal["submitted", "succeeded", "failed"]
OutcomeKind = Literal["payment.succeeded", "payment.failed"]


@dataclass(frozen=True)
class HostedPayment:
    """A payment opened at the provider: its id there and the page the person pays on."""

    provider_payment_id: str
    next_url: str


@dataclass(frozen=True)
class ProviderRefund:
    """A refund as the provider took it: its id there and how far it got."""

    provider_refund_id: str
    status: RefundStatus


@dataclass(frozen=True)
class ProviderOutcome:
    """One notification from a provider about one of its payments.

    ``notification_id`` is unique per provider and is the replay-protection key: the same id
    is applied at most once. ``amount`` is what the provider says it captured (for successes).
    """

    provider: str
    notification_id: str
    kind: OutcomeKind
    provider_payment_id: str
    amount: int | None = None
    currency: str | None = None
    reason: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class SettlementLine:
    """Money the provider moved for us on the settlement day. ``amount`` is positive; ``kind``
    says the direction (a payment is paid to the city, a refund paid back). ``payment_id`` and
    ``refund_id`` are our ids as the provider echoes them (we send them as its request ids);
    ``provider_reference`` is the provider's own id of the capture or refund."""

    kind: Literal["payment", "refund"]
    tenant: str
    payment_id: uuid.UUID
    provider_reference: str
    amount: int
    currency: str
    settled_at: datetime
    refund_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Settlement:
    """Everything a provider settled on one day (its settlement time zone)."""

    provider: str
    day: date
    lines: Sequence[SettlementLine] = field(default_factory=tuple)

    def net(self, currency: str = "EUR") -> int:
        """Payments minus refunds in ``currency``, in minor units."""
        return sum(
            line.amount if line.kind == "payment" else -line.amount
            for line in self.lines
            if line.currency == currency
        )


@runtime_checkable
class PaymentProvider(Protocol):
    """What the payment service needs from a provider. Implementations keep no state about
    our payments beyond what the provider itself stores; every call may be repeated."""

    @property
    def name(self) -> str:
        """The provider's key (``payments.provider``, ``provider_notifications.provider``)."""
        ...

    async def create_hosted_payment(self, payment: Payment) -> HostedPayment:
        """Open ``payment`` at the provider; idempotent on ``payment.id``."""
        ...

    async def refund(
        self, payment: Payment, amount: int, *, idempotency_key: str | None = None
    ) -> ProviderRefund:
        """Pay ``amount`` (minor units, at most what is still refundable) of ``payment`` back.

        The caller guards the refundable amount; ``idempotency_key`` (e.g. our refund id)
        makes a repeated call return the first refund instead of paying twice.
        """
        ...

    async def settlement(self, day: date) -> Settlement:
        """What the provider settled on ``day`` (captures and refunds)."""
        ...

    async def fetch_status(self, payment: Payment) -> ProviderOutcome | None:
        """What the provider decided about ``payment``, asked rather than pushed: its final
        outcome, or None while the payment is still open there (or unknown to it).

        The outcome's ``notification_id`` names the decision, the same on every call (and, where
        the provider also pushes, the same as its webhook's id if it can), so that applying it
        through ``apply_notification`` more than once, or beside the webhook, changes nothing.
        """
        ...
