"""The worklists API: a department's worklist and its counts (its staff, tenant admins) and
the case reports (its managers, tenant admins; the tenant's report: tenant admins). Reads only:
each route parses, calls one use case and responds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import StringConstraints

from case_service.worklists.export import CSV_MEDIA_TYPE, report_csv
from case_service.worklists.reports import department_report, tenant_report
from case_service.worklists.schemas import CaseReport, Worklist, WorklistCounts
from case_service.worklists.service import worklist, worklist_counts
from city_shared.auth import CurrentPrincipal
from city_shared.dates import CalendarDate, Timestamp
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.pagination import CursorQuery
from city_shared.slugs import SlugPath

__all__ = ["router"]

router = APIRouter(tags=["worklists"])

StatusName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,23}$")]
Format = Literal["json", "csv"]


def _aware(value: datetime | None) -> datetime | None:
    """A timestamp without a zone is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("/departments/{department}/worklist",
            summary="A department's cases by due date, filtered and searchable",
            responses=problem_responses(401, 403, 422))
async def get_worklist(
    department: SlugPath, session: SessionDep, principal: CurrentPrincipal,
    status: Annotated[list[StatusName] | None, Query(
        max_length=20, description="Repeatable; default: every open status.")] = None,
    service_id: uuid.UUID | None = None,
    assignee: Annotated[str | None, Query(
        min_length=1, max_length=100,
        description="A staff member's `sub`, `me` or `none` (unassigned).")] = None,
    due_before: Annotated[Timestamp | None, Query(
        description="Only cases due before this instant (no zone: UTC).")] = None,
    overdue: Annotated[bool, Query(
        description="Only open cases past their due date.")] = False,
    q: Annotated[str | None, Query(
        min_length=1, max_length=200,
        description="Words of the case number or the applicant's name (prefixes match).")
    ] = None,
    cursor: CursorQuery = None, limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Worklist:
    """Staff with a role in ``department`` and tenant admins (else 403
    ``not_your_department``); another tenant's department has no cases. Sorted by ``due_at``
    (cases without one last), then id. 422 ``invalid_cursor``."""
    return await worklist(session, principal, department, now=datetime.now(UTC),
                          statuses=status or (), service_id=service_id, assignee=assignee,
                          due_before=_aware(due_before), overdue=overdue, q=q, cursor=cursor,
                          limit=limit)


@router.get("/departments/{department}/worklist/counts",
            summary="How many of a department's cases are in each status, and overdue",
            responses=problem_responses(401, 403, 422))
async def get_worklist_counts(department: SlugPath, session: SessionDep,
                              principal: CurrentPrincipal) -> WorklistCounts:
    """Who may read the worklist (403 ``not_your_department``)."""
    return await worklist_counts(session, principal, department, now=datetime.now(UTC))


def _respond(report: CaseReport, fmt: Format, name: str) -> CaseReport | Response:
    if fmt == "json":
        return report
    filename = f"cases-{name}-{report.period_from}-{report.period_to}.csv"
    return Response(report_csv(report), media_type=CSV_MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


_REPORT_RESPONSES = {**problem_responses(401, 403, 422),
                     200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
                           "description": "The report (JSON, or CSV with `format=csv`)."}}


@router.get("/departments/{department}/reports/cases", response_model=CaseReport,
            summary="Cases per service: open per status, processing times, deadline breaches",
            responses=_REPORT_RESPONSES)
async def get_department_report(
    department: SlugPath, session: SessionDep, principal: CurrentPrincipal,
    period_from: Annotated[CalendarDate | None, Query(alias="from")] = None,
    period_to: Annotated[CalendarDate | None, Query(alias="to")] = None,
    fmt: Annotated[Format, Query(alias="format")] = "json",
) -> CaseReport | Response:
    """Managers of ``department`` and tenant admins (a clerk: 403 ``managers_only``; no role:
    403 ``not_your_department``). Open cases as of now; decisions of the UTC days ``from`` to
    ``to`` inclusive (default: the last 30 days). 422 ``invalid_period``."""
    report = await department_report(session, principal, department, period_from=period_from,
                                     period_to=period_to, now=datetime.now(UTC))
    return _respond(report, fmt, department)


@router.get("/tenants/{tenant}/reports/cases", response_model=CaseReport,
            summary="The case report of every department of a tenant",
            responses=_REPORT_RESPONSES)
async def get_tenant_report(
    tenant: SlugPath, session: SessionDep, principal: CurrentPrincipal,
    period_from: Annotated[CalendarDate | None, Query(alias="from")] = None,
    period_to: Annotated[CalendarDate | None, Query(alias="to")] = None,
    fmt: Annotated[Format, Query(alias="format")] = "json",
) -> CaseReport | Response:
    """The tenant's administrators (else 403 ``not_your_tenant``). 422 ``invalid_period``."""
    report = await tenant_report(session, principal, tenant, period_from=period_from,
                                 period_to=period_to, now=datetime.now(UTC))
    return _respond(report, fmt, tenant)
