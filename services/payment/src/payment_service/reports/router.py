"""Reports API: ``GET /reports/reconciliation``, the daily reconciliation per department in
JSON or CSV. Reading a day may import the providers' settlement of it first (and commits that
import), see :mod:`.settlements`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response

from city_shared.auth import CurrentPrincipal
from city_shared.dates import CalendarDate
from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from payment_service.ledger.access import report_scope
from payment_service.ledger.router import DepartmentQuery
from payment_service.providers.registry import ProvidersDep
from payment_service.reports import service
from payment_service.reports.csv_export import to_csv
from payment_service.reports.schemas import ReconciliationReport

__all__ = ["router"]

router = APIRouter(tags=["reports"])

CSV_MEDIA_TYPE = "text/csv"


def _wants_csv(fmt: str | None, accept: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    if not accept:
        return False
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return CSV_MEDIA_TYPE in types and "application/json" not in types[: types.index(
        CSV_MEDIA_TYPE)]


@router.get(
    "/reports/reconciliation",
    summary="Daily reconciliation of the ledger against the providers' settlements",
    response_model=ReconciliationReport,
    responses={
        **problem_responses(401, 403, 422, 503),
        200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
              "description": "The report (JSON, or CSV on request)."},
    },
)
async def reconciliation(
    session: SessionDep,
    principal: CurrentPrincipal,
    providers: ProvidersDep,
    day: Annotated[CalendarDate, Query(alias="date", description="The business day, YYYY-MM-DD.")],
    department: DepartmentQuery = None,
    fmt: Annotated[Literal["json", "csv"] | None,
                   Query(alias="format", description="Overrides the Accept header.")] = None,
    accept: Annotated[str | None, Header(max_length=1024)] = None,
) -> Response:
    """Per department and day: payments count, gross, refunds and net from the ledger, the
    provider's settlement figures, ``matches`` and every discrepancy. Staff with ``manager``
    or ``cashier`` see their departments (403 for another), tenant admins and clients with
    ``payment:reports`` all. CSV with ``Accept: text/csv`` or ``?format=csv``."""
    scope = report_scope(principal)
    departments = scope.narrow(department)
    report = await service.reconcile(session, providers, scope, day, departments)
    headers = {"Vary": "Accept", "Cache-Control": "no-store"}
    if _wants_csv(fmt, accept):
        name = f"reconciliation-{scope.tenant}-{day.isoformat()}"
        if department is not None:
            name += f"-{department}"
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return Response(to_csv(report), media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
                        headers=headers)
    return Response(report.model_dump_json(), media_type="application/json", headers=headers)
