"""The reconciliation report as CSV (RFC 4180, UTF-8, header row): one ``total`` row per
department and currency, followed by one ``discrepancy`` row per disagreement (unattributed
ones with an empty department). Every row has every column, so any CSV reader takes it."""

from __future__ import annotations

import csv
import io

from payment_service.reports.schemas import Discrepancy, ReconciliationReport

__all__ = ["COLUMNS", "to_csv"]

COLUMNS = (
    "record", "date", "department", "currency",
    "ledger_payments_count", "ledger_gross", "ledger_refunds_count", "ledger_refunds",
    "ledger_net",
    "provider_payments_count", "provider_gross", "provider_refunds_count", "provider_refunds",
    "provider_net",
    "matches", "kind", "payment_id", "refund_id", "ledger_amount", "provider_amount", "issue",
)


def _discrepancy(
    report: ReconciliationReport, department: str, d: Discrepancy
) -> dict[str, object]:
    return {
        "record": "discrepancy", "date": report.date.isoformat(), "department": department,
        "currency": d.currency, "matches": "false", "kind": d.kind,
        "payment_id": str(d.payment_id), "refund_id": str(d.refund_id or ""),
        "ledger_amount": "" if d.ledger_amount is None else d.ledger_amount,
        "provider_amount": "" if d.provider_amount is None else d.provider_amount,
        "issue": d.issue,
    }


def to_csv(report: ReconciliationReport) -> str:
    """The report as CSV text (``\\r\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="")
    writer.writeheader()
    for row in report.departments:
        record: dict[str, object] = {
            "record": "total", "date": report.date.isoformat(), "department": row.department,
            "currency": row.currency or "", "matches": "true" if row.matches else "false",
        }
        for side, totals in (("ledger", row.ledger), ("provider", row.provider)):
            for name, value in totals.model_dump().items():
                record[f"{side}_{name}"] = value
        writer.writerow(record)
    for row in report.departments:
        for d in row.discrepancies:
            writer.writerow(_discrepancy(report, row.department, d))
    for d in report.unattributed:
        writer.writerow(_discrepancy(report, "", d))
    return out.getvalue()
