"""Reports API: ``GET /reports/slots`` (occupancy and admissions per slot) and
``GET /reports/revenue`` (sales per offering and ticket type) of one department, as JSON or,
with ``?format=csv`` or ``Accept: text/csv``, as a CSV attachment. Read-only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel

from city_shared.auth import CurrentPrincipal
from city_shared.dates import CalendarDate
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.slugs import SLUG_MAX_LENGTH, SLUG_PATTERN
from ticketing_service.reports import export, service
from ticketing_service.reports.schemas import (
    MAX_REPORT_DAYS,
    RevenueReport,
    SlotReport,
)

__all__ = ["router"]

router = APIRouter(tags=["reports"])

DepartmentQuery = Annotated[str, Query(pattern=SLUG_PATTERN, max_length=SLUG_MAX_LENGTH,
                                       description="The department's slug, e.g. `museum`.")]
FromQuery = Annotated[CalendarDate,
                      Query(alias="from", description="First day, YYYY-MM-DD (local).")]
ToQuery = Annotated[CalendarDate, Query(
    alias="to", description=f"Last day, YYYY-MM-DD, included; at most {MAX_REPORT_DAYS} days "
                            "after `from`.")]
FormatQuery = Annotated[Literal["json", "csv"] | None,
                        Query(alias="format", description="Overrides the Accept header.")]
AcceptHeader = Annotated[str | None, Header(max_length=1024)]


def _responses() -> dict[int | str, dict[str, Any]]:
    return {
        **problem_responses(401, 403, 422),
        200: {"content": {export.CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
              "description": "The report (JSON, or CSV on request)."},
    }


def _respond(report: BaseModel, csv_text: str | None, name: str) -> Response:
    headers = {"Vary": "Accept", "Cache-Control": "no-store"}
    if csv_text is not None:
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return Response(csv_text, media_type=f"{export.CSV_MEDIA_TYPE}; charset=utf-8",
                        headers=headers)
    return Response(report.model_dump_json(by_alias=True), media_type="application/json",
                    headers=headers)


@router.get(
    "/reports/slots",
    summary="Occupancy, admissions and no-shows per time slot of a department",
    response_model=SlotReport,
    responses=_responses(),
)
async def slots_report(
    session: SessionDep,
    principal: CurrentPrincipal,
    department: DepartmentQuery,
    start: FromQuery,
    end: ToQuery,
    fmt: FormatQuery = None,
    accept: AcceptHeader = None,
) -> Response:
    """Every slot of the department's timed offerings starting in the period: capacity, sold,
    held, available, occupancy rate, tickets, admitted and no-shows. For the department's
    managers and cashiers, tenant admins and clients with `ticketing:read`; 403 otherwise."""
    report = await service.slot_report(session, principal, department, start, end)
    csv_text = export.slot_csv(report) if export.wants_csv(fmt, accept) else None
    return _respond(report, csv_text, export.attachment_name("slots", department, start, end))


@router.get(
    "/reports/revenue",
    summary="Tickets sold, gross, refunded and net per offering and ticket type of a department",
    response_model=RevenueReport,
    responses=_responses(),
)
async def revenue_report(
    session: SessionDep,
    principal: CurrentPrincipal,
    department: DepartmentQuery,
    start: FromQuery,
    end: ToQuery,
    fmt: FormatQuery = None,
    accept: AcceptHeader = None,
) -> Response:
    """Orders confirmed in the period (and not cancelled or expired), per offering, ticket
    type and currency, in cents; combos count with the department's share of their price.
    Totals per currency. Access as for `/reports/slots`."""
    report = await service.revenue_report(session, principal, department, start, end)
    csv_text = export.revenue_csv(report) if export.wants_csv(fmt, accept) else None
    return _respond(report, csv_text, export.attachment_name("revenue", department, start, end))
