"""Ledger API: ``GET /ledger/balances``. Read-only; the ledger is written by payment and
refund successes only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from city_shared.auth import CurrentPrincipal
from city_shared.dates import CalendarDate
from city_shared.dependencies import SessionDep
from city_shared.errors import ValidationFailed, problem_responses
from city_shared.slugs import SLUG_PATTERN
from payment_service.ledger import service
from payment_service.ledger.access import report_scope
from payment_service.ledger.schemas import AccountBalanceRead, CurrencyTotals, LedgerBalances

__all__ = ["DepartmentQuery", "router"]

router = APIRouter(tags=["ledger"])

DepartmentQuery = Annotated[
    str | None, Query(pattern=SLUG_PATTERN, description="A department's slug; default: all "
                      "departments the caller may read.")
]


@router.get(
    "/ledger/balances",
    summary="Balances per account of the departments' revenue ledger",
    responses=problem_responses(401, 403, 422),
)
async def ledger_balances(
    session: SessionDep,
    principal: CurrentPrincipal,
    department: DepartmentQuery = None,
    value_from: Annotated[CalendarDate | None,
                          Query(alias="from", description="First value date.")] = None,
    value_to: Annotated[CalendarDate | None,
                        Query(alias="to", description="Last value date.")] = None,
) -> LedgerBalances:
    """Staff with ``manager`` or ``cashier`` (their departments), tenant admins and clients
    with ``payment:reports``. 403 for another department; 422 when ``from`` is after
    ``to``."""
    scope = report_scope(principal)
    departments = scope.narrow(department)
    if value_from is not None and value_to is not None and value_from > value_to:
        raise ValidationFailed("'from' must not be after 'to'.")
    rows = await service.balances(session, scope.tenant, departments, value_from, value_to)
    totals: dict[str, list[int]] = {}
    for row in rows:
        sums = totals.setdefault(row.currency, [0, 0])
        sums[0] += row.debit
        sums[1] += row.credit
    return LedgerBalances(
        tenant=scope.tenant,
        departments=sorted(departments) if departments is not None else None,
        value_from=value_from,
        value_to=value_to,
        accounts=[AccountBalanceRead(account=r.account, department=r.department,
                                     currency=r.currency, debit=r.debit, credit=r.credit,
                                     balance=r.debit - r.credit) for r in rows],
        totals=[CurrencyTotals(currency=c, debit=d, credit=k)
                for c, (d, k) in sorted(totals.items())],
        balanced=all(d == k for d, k in totals.values()),
    )
