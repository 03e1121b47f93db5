"""The daily reconciliation: the ledger's movements of one day against the providers'
settlement of that day, per department. Flushes (the settlement import), never commits.

Both sides are compared item by item (each capture, each refund, by payment and refund id) on
their whole amounts, and every disagreement is listed. Department figures: the ledger's are
its own entries; the provider's are its amounts attributed by the payment's line items (as the
ledger split them where the amounts agree, proportionally to the line items where not).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from payment_service.ledger.access import ReportScope
from payment_service.ledger.allocation import split_proportionally
from payment_service.payments.models import PaymentLineItem
from payment_service.providers.registry import Providers
from payment_service.reports import repository
from payment_service.reports.schemas import (
    DepartmentReconciliation,
    Discrepancy,
    DiscrepancyIssue,
    ReconciliationReport,
    SettlementImportRead,
    Totals,
)
from payment_service.reports.settlements import current_settlements

__all__ = ["reconcile"]

# (kind, payment id, refund id): one capture or one refund.
_Key = tuple[str, uuid.UUID, uuid.UUID | None]


@dataclass
class _Item:
    """One capture or refund as both sides see it."""

    currency: str
    ledger: dict[str, int] = field(default_factory=dict)
    provider_amount: int | None = None

    @property
    def ledger_amount(self) -> int | None:
        return sum(self.ledger.values()) if self.ledger else None

    def issue(self) -> DiscrepancyIssue | None:
        ledger = self.ledger_amount
        if ledger == self.provider_amount:
            return None
        if self.provider_amount is None:
            return "missing_at_provider"
        if ledger is None:
            return "missing_in_ledger"
        return "amount_differs"

    def provider_shares(self, items: list[PaymentLineItem] | None) -> dict[str, int]:
        """The provider's amount by department (empty if nothing can be attributed)."""
        if self.provider_amount is None:
            return {}
        if self.ledger_amount == self.provider_amount:
            return dict(self.ledger)
        if not items or sum(i.amount for i in items) == 0:
            return {}
        shares: dict[str, int] = defaultdict(int)
        split = split_proportionally(self.provider_amount, [i.amount for i in items])
        for item, share in zip(items, split, strict=True):
            shares[item.department] += share
        return dict(shares)


def _add(totals: Totals, kind: str, amount: int) -> None:
    if kind == "payment":
        totals.payments_count += 1
        totals.gross += amount
    else:
        totals.refunds_count += 1
        totals.refunds += amount
    totals.net = totals.gross - totals.refunds


def _discrepancy(key: _Key, item: _Item, issue: DiscrepancyIssue) -> Discrepancy:
    kind, payment_id, refund_id = key
    return Discrepancy(kind=kind, payment_id=payment_id, refund_id=refund_id,
                       currency=item.currency, ledger_amount=item.ledger_amount,
                       provider_amount=item.provider_amount, issue=issue)


async def _items(session: AsyncSession, tenant: str, day: date) -> dict[_Key, _Item]:
    found: dict[_Key, _Item] = {}
    for m in await repository.ledger_movements(session, tenant, day):
        key: _Key = ("refund" if m.refund_id else "payment", m.payment_id, m.refund_id)
        item = found.setdefault(key, _Item(m.currency))
        item.ledger[m.department] = item.ledger.get(m.department, 0) + m.amount
    for line in await repository.settlement_lines(session, tenant, day):
        key = (line.kind, line.payment_id, line.refund_id)
        item = found.setdefault(key, _Item(line.currency))
        item.provider_amount = (item.provider_amount or 0) + line.amount
    return found


def _row(department: str, currency: str | None) -> DepartmentReconciliation:
    return DepartmentReconciliation(department=department, currency=currency, ledger=Totals(),
                                    provider=Totals(), matches=True, discrepancies=[])


async def reconcile(
    session: AsyncSession,
    providers: Providers,
    scope: ReportScope,
    day: date,
    departments: frozenset[str] | None,
) -> ReconciliationReport:
    """The reconciliation of ``day`` for ``departments`` (None: every department with
    movements that day) of the caller's tenant; imports the providers' settlements of the day
    first where missing or stale (see :mod:`.settlements`)."""
    tenant = scope.tenant
    imported = await current_settlements(session, providers, tenant, day)
    items = await _items(session, tenant, day)
    lines = await repository.line_items(session, tenant, {key[1] for key in items})
    rows: dict[tuple[str, str], DepartmentReconciliation] = {}
    unattributed: list[Discrepancy] = []
    seen: set[str] = set()
    attributed: list[tuple[_Key, _Item, dict[str, int], set[str]]] = []
    for key, item in items.items():
        payment_lines = lines.get(key[1])
        shares = item.provider_shares(payment_lines)
        touched = set(item.ledger) | set(shares) | {i.department for i in payment_lines or []}
        issue = item.issue()
        if not touched:
            if issue is not None:
                unattributed.append(_discrepancy(key, item, issue))
            continue
        seen |= touched
        attributed.append((key, item, shares, touched))
    chosen = sorted(departments if departments is not None else seen)
    for key, item, shares, touched in attributed:
        issue = item.issue()
        for department in touched & set(chosen):
            row = rows.setdefault((department, item.currency), _row(department, item.currency))
            if department in item.ledger:
                _add(row.ledger, key[0], item.ledger[department])
            if department in shares:
                _add(row.provider, key[0], shares[department])
            if issue is not None:
                row.discrepancies.append(_discrepancy(key, item, issue))
    for department in chosen:
        if not any(d == department for d, _ in rows):
            rows[(department, "")] = _row(department, None)
    result = []
    for _, row in sorted(rows.items()):
        row.matches = row.ledger == row.provider and not row.discrepancies
        row.discrepancies.sort(key=lambda d: (d.kind, str(d.payment_id), str(d.refund_id)))
        result.append(row)
    return ReconciliationReport(
        tenant=tenant, date=day, departments=result, unattributed=unattributed,
        settlements=[SettlementImportRead(provider=p, imported_at=at)
                     for p, at in sorted(imported.items())],
        matches=all(r.matches for r in result) and not unattributed,
    )
