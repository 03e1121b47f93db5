"""Case reports per service: open cases per status now, decisions of a period with their
processing times (median and 90th percentile, computed by PostgreSQL), and deadline breaches
(decided after ``due_at``; open past ``due_at``). Counts and durations only, no personal data."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.worklists import repository
from case_service.worklists.access import require_report_reader, require_tenant_admin
from case_service.worklists.errors import InvalidPeriod
from case_service.worklists.schemas import CaseReport, ServiceReport
from city_shared.auth import Principal

__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "department_report", "tenant_report"]

#: The period when ``from`` is not given: the 30 days up to ``to``.
DEFAULT_DAYS: Final = 30
MAX_DAYS: Final = 3660


def _period(period_from: date | None, period_to: date | None,
            now: datetime) -> tuple[date, date]:
    end = period_to or now.astimezone(UTC).date()
    start = period_from or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidPeriod("'from' lies after 'to'.")
    if (end - start).days >= MAX_DAYS:
        raise InvalidPeriod(f"A report covers at most {MAX_DAYS} days.")
    return start, end


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def _report(session: AsyncSession, tenant: str, department: str | None,
                  period_from: date | None, period_to: date | None,
                  now: datetime) -> CaseReport:
    start, end = _period(period_from, period_to, now)
    opened = await repository.open_counts(session, tenant, department, now)
    decided = await repository.decided_stats(
        session, tenant, department, datetime.combine(start, time(), UTC),
        datetime.combine(end + timedelta(days=1), time(), UTC))
    rows: dict[tuple[str, uuid.UUID], ServiceReport] = {}

    def row(dept: str, service_id: uuid.UUID) -> ServiceReport:
        return rows.setdefault((dept, service_id), ServiceReport(
            department=dept, service_id=service_id, open={}, open_total=0, open_overdue=0,
            decided=0, processing_days_median=None, processing_days_p90=None, decided_late=0,
            deadline_breaches=0))

    for dept, service_id, status, total, late in opened:
        r = row(dept, service_id)
        r.open[status] = total
        r.open_total += total
        r.open_overdue += late
    for dept, service_id, count, median, p90, late in decided:
        r = row(dept, service_id)
        r.decided, r.decided_late = count, late
        r.processing_days_median, r.processing_days_p90 = _days(median), _days(p90)
    for r in rows.values():
        r.deadline_breaches = r.open_overdue + r.decided_late
    return CaseReport(tenant=tenant, department=department, period_from=start, period_to=end,
                      generated_at=now,
                      services=[rows[key] for key in sorted(rows, key=lambda k: (k[0],
                                                                                 str(k[1])))])


async def department_report(session: AsyncSession, principal: Principal, department: str, *,
                            period_from: date | None, period_to: date | None,
                            now: datetime) -> CaseReport:
    """The report of ``department`` of the caller's tenant; the period's days are UTC days,
    both ends inclusive (default: the 30 days up to today).

    :raises NotYourDepartment: (403) no role there; :raises ManagersOnly: (403) a clerk;
    :raises InvalidPeriod: (422).
    """
    require_report_reader(principal, department)
    return await _report(session, principal.tenant, department, period_from, period_to, now)


async def tenant_report(session: AsyncSession, principal: Principal, tenant: str, *,
                        period_from: date | None, period_to: date | None,
                        now: datetime) -> CaseReport:
    """Every department's report of ``tenant`` in one.

    :raises NotYourTenant: (403) no admin of ``tenant``; :raises InvalidPeriod: (422).
    """
    require_tenant_admin(principal, tenant)
    return await _report(session, tenant, None, period_from, period_to, now)
