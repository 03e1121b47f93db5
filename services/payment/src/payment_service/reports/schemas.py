"""HTTP models of the reconciliation report. Amounts in minor units; ``gross`` is what the
department took, ``refunds`` what it paid back, ``net = gross - refunds``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

__all__ = [
    "DepartmentReconciliation",
    "Discrepancy",
    "DiscrepancyIssue",
    "ReconciliationReport",
    "SettlementImportRead",
    "Totals",
]

DiscrepancyIssue = Literal["missing_at_provider", "missing_in_ledger", "amount_differs"]


class Totals(BaseModel):
    """One side's figures for a department and day."""

    payments_count: int = 0
    gross: int = 0
    refunds_count: int = 0
    refunds: int = 0
    net: int = 0


class Discrepancy(BaseModel):
    """A capture or refund the two sides disagree on, with the whole amounts each side has
    (all departments of the payment): ``null`` where a side has nothing."""

    kind: Literal["payment", "refund"]
    payment_id: uuid.UUID
    refund_id: uuid.UUID | None
    currency: str
    ledger_amount: int | None
    provider_amount: int | None
    issue: DiscrepancyIssue


class DepartmentReconciliation(BaseModel):
    """One department's day in one currency (``null`` when nothing moved): the ledger's
    figures, the provider's settlement attributed to the department by the payments' line
    items, and where they differ. ``matches``: equal figures and no discrepancy."""

    department: str
    currency: str | None
    ledger: Totals
    provider: Totals
    matches: bool
    discrepancies: list[Discrepancy]


class SettlementImportRead(BaseModel):
    """Which provider's settlement of the day the report used, as imported when."""

    provider: str
    imported_at: datetime


class ReconciliationReport(BaseModel):
    """The daily reconciliation of the ledger against the providers' settlements.
    ``unattributed``: settlement lines of payments this service does not know (no department
    can be named); ``matches`` is false if any department or such line disagrees."""

    tenant: str
    date: date
    departments: list[DepartmentReconciliation]
    unattributed: list[Discrepancy]
    settlements: list[SettlementImportRead]
    matches: bool
