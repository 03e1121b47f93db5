"""Use cases of the reports slice: a department's slot occupancy and revenue for a period.
Read-only; always within the caller's tenant (another tenant's rows are never counted)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared.auth import Principal
from city_shared.errors import FieldError, ValidationFailed
from ticketing_service.access import require_report_reader
from ticketing_service.reports import repository
from ticketing_service.reports.schemas import (
    MAX_REPORT_DAYS,
    RevenueReport,
    RevenueRow,
    RevenueTotal,
    SlotReport,
    SlotRow,
)

__all__ = ["InvalidReportPeriod", "revenue_report", "slot_report"]


class InvalidReportPeriod(ValidationFailed):
    """422: ``to`` lies before ``from``, or the period is longer than the reports allow."""

    code = "invalid_report_period"
    title = "Invalid report period"


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise InvalidReportPeriod(
            "The period ends before it starts.",
            errors=[FieldError(loc=["query", "to"], msg="must not be before 'from'",
                               type="value_error")])
    days = (end - start).days + 1
    if days > MAX_REPORT_DAYS:
        raise InvalidReportPeriod(
            f"A report covers at most {MAX_REPORT_DAYS} days; this period has {days}.",
            errors=[FieldError(loc=["query", "to"],
                               msg=f"at most {MAX_REPORT_DAYS} days after 'from'",
                               type="value_error")],
            extra={"max_days": MAX_REPORT_DAYS})


def _rate(sold: int, capacity: int) -> float | None:
    return round(sold / capacity, 4) if capacity > 0 else None


async def slot_report(
    session: AsyncSession, principal: Principal, department: str, start: date, end: date,
    now: datetime | None = None,
) -> SlotReport:
    """Per slot of ``department`` starting from ``start`` to ``end`` (local days): capacity,
    sold, held, available, occupancy, tickets, admitted and (once ended) no-shows.

    :raises Forbidden: (403) the caller may not read ``department``'s reports.
    :raises InvalidReportPeriod: (422) ``end`` before ``start`` or more than 92 days.
    """
    require_report_reader(principal, department)
    _check_period(start, end)
    now = now or datetime.now(UTC)
    rows = []
    for f in await repository.slot_figures(session, principal.tenant, department, start, end):
        zone = ZoneInfo(f.timezone)
        rows.append(SlotRow(
            slot_id=f.slot_id, offering_id=f.offering_id, offering=f.offering,
            starts_at=f.starts_at.astimezone(zone), ends_at=f.ends_at.astimezone(zone),
            status=f.status, capacity=f.capacity, sold=f.sold, held=f.held,
            available=max(0, f.capacity - f.held - f.sold),
            occupancy_rate=_rate(f.sold, f.capacity), tickets=f.tickets, admitted=f.admitted,
            no_shows=f.not_admitted if f.ends_at <= now else None,
        ))
    return SlotReport(tenant=principal.tenant, department=department, start=start, end=end,
                      slots=rows)


async def revenue_report(
    session: AsyncSession, principal: Principal, department: str, start: date, end: date
) -> RevenueReport:
    """``department``'s tickets sold, gross, refunded and net per offering and ticket type
    (its shares of combos included), and totals per currency, of the orders confirmed from
    ``start`` to ``end`` (local days).

    :raises Forbidden: (403) the caller may not read ``department``'s reports.
    :raises InvalidReportPeriod: (422) ``end`` before ``start`` or more than 92 days.
    """
    require_report_reader(principal, department)
    _check_period(start, end)
    figures = await repository.revenue_figures(session, principal.tenant, department, start, end)
    rows = [
        RevenueRow(
            offering_id=f.offering_id, offering=f.offering, sold_by=f.sold_by,
            ticket_type_id=f.ticket_type_id, ticket_type=f.ticket_type,
            ticket_type_name=f.ticket_type_name, combo=f.combo, currency=f.currency,
            tickets_sold=f.tickets_sold, gross=f.gross, tickets_refunded=f.tickets_refunded,
            refunded=f.refunded, net=f.gross - f.refunded,
        )
        for f in figures
    ]
    totals: dict[str, RevenueTotal] = {}
    for row in rows:
        total = totals.setdefault(row.currency, RevenueTotal(
            currency=row.currency, tickets_sold=0, gross=0, tickets_refunded=0, refunded=0,
            net=0))
        total.tickets_sold += row.tickets_sold
        total.gross += row.gross
        total.tickets_refunded += row.tickets_refunded
        total.refunded += row.refunded
        total.net += row.net
    return RevenueReport(tenant=principal.tenant, department=department, start=start, end=end,
                         rows=rows, totals=[totals[c] for c in sorted(totals)])
