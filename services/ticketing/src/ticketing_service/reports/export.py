"""The reports as CSV (RFC 4180, UTF-8, ``,``-separated, one header row, ``\\r\\n`` line
ends): amounts as integer cents in columns named ``*_cents``, the occupancy rate as a decimal
with a dot, times as ISO 8601 with their offset.

Text cells a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) are prefixed with ``'`` (OWASP "CSV injection"); numbers are not.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Final

from ticketing_service.reports.schemas import RevenueReport, SlotReport

__all__ = [
    "CSV_MEDIA_TYPE",
    "REVENUE_COLUMNS",
    "SLOT_COLUMNS",
    "attachment_name",
    "revenue_csv",
    "safe_cell",
    "slot_csv",
    "wants_csv",
]

CSV_MEDIA_TYPE: Final = "text/csv"
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")

SLOT_COLUMNS: Final = (
    "department", "offering_id", "offering", "slot_id", "starts_at", "ends_at", "status",
    "capacity", "sold", "held", "available", "occupancy_rate", "tickets", "admitted",
    "no_shows",
)
REVENUE_COLUMNS: Final = (
    "department", "offering_id", "offering", "sold_by", "ticket_type_id", "ticket_type",
    "ticket_type_name", "combo", "currency", "tickets_sold", "gross_cents",
    "tickets_refunded", "refunded_cents", "net_cents",
)

Cell = str | int | float | bool | None


def safe_cell(value: Cell) -> str | int:
    """One cell: text guarded against formula injection, numbers unchanged, ``None`` empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return f"{value:.4f}"
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _write(columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def _iso(value: datetime) -> str:
    return value.isoformat()


def slot_csv(report: SlotReport) -> str:
    """The slot report, one row per slot."""
    return _write(SLOT_COLUMNS, (
        (report.department, str(s.offering_id), s.offering, str(s.slot_id),
         _iso(s.starts_at), _iso(s.ends_at), s.status, s.capacity, s.sold, s.held,
         s.available, s.occupancy_rate, s.tickets, s.admitted, s.no_shows)
        for s in report.slots
    ))


def revenue_csv(report: RevenueReport) -> str:
    """The revenue report, one row per offering, ticket type and currency (no total rows)."""
    return _write(REVENUE_COLUMNS, (
        (report.department, str(r.offering_id), r.offering, r.sold_by, str(r.ticket_type_id),
         r.ticket_type, r.ticket_type_name, r.combo, r.currency, r.tickets_sold, r.gross,
         r.tickets_refunded, r.refunded, r.net)
        for r in report.rows
    ))


def attachment_name(report: str, department: str, start: date, end: date) -> str:
    """``<report>-<department>-<from>-<to>.csv`` (the department is a validated slug)."""
    return f"{report}-{department}-{start.isoformat()}-{end.isoformat()}.csv"


def wants_csv(fmt: str | None, accept: str | None) -> bool:
    """CSV if ``?format=csv``, or without ``format`` if ``Accept`` names ``text/csv`` before
    ``application/json``."""
    if fmt is not None:
        return fmt == "csv"
    if not accept:
        return False
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if CSV_MEDIA_TYPE not in types:
        return False
    return "application/json" not in types[: types.index(CSV_MEDIA_TYPE)]
