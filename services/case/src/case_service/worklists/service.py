"""Worklist use cases: a department's page of cases and its counts per status. Reads only."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from case_service.worklists import repository
from case_service.worklists.access import require_worklist_reader
from case_service.worklists.cursor import DueCursor
from case_service.worklists.repository import WorklistFilter
from case_service.worklists.schemas import Worklist, WorklistCounts, WorklistItem
from city_shared.auth import Principal

__all__ = ["ME", "UNASSIGNED", "worklist", "worklist_counts"]

#: ``assignee=me``: the caller; ``assignee=none``: nobody.
ME = "me"
UNASSIGNED = "none"


async def worklist(session: AsyncSession, principal: Principal, department: str, *,
                   now: datetime, statuses: Collection[str] = (),
                   service_id: uuid.UUID | None = None, assignee: str | None = None,
                   due_before: datetime | None = None, overdue: bool = False,
                   q: str | None = None, cursor: str | None = None,
                   limit: int = 20) -> Worklist:
    """A page of ``department``'s cases in the caller's tenant (another tenant's department
    is empty), by ``due_at`` then id, undated cases last. No ``statuses``: the open ones.

    :raises NotYourDepartment: (403) the caller may not read the department's worklist.
    :raises InvalidCursor: (422) a cursor not handed out here.
    """
    require_worklist_reader(principal, department)
    position = DueCursor.parse(cursor)
    f = WorklistFilter(
        tenant=principal.tenant, department=department, now=now,
        statuses=statuses, service_id=service_id,
        assignee=principal.sub if assignee == ME else assignee,
        unassigned=assignee == UNASSIGNED, due_before=due_before, overdue=overdue, q=q)
    rows = await repository.worklist_page(session, f, position, limit)
    page = rows[:limit]
    items = [WorklistItem.model_validate(row._mapping) for row in page]
    last = page[-1] if page else None
    next_cursor = (DueCursor(last.due_at, last.id).encode()
                   if last is not None and len(rows) > limit else None)
    return Worklist(items=items, next_cursor=next_cursor)


async def worklist_counts(session: AsyncSession, principal: Principal, department: str, *,
                          now: datetime) -> WorklistCounts:
    """Cases of ``department`` per status (final ones too), open and overdue totals.

    :raises NotYourDepartment: (403).
    """
    require_worklist_reader(principal, department)
    rows = await repository.count_statuses(session, principal.tenant, department, now)
    return WorklistCounts(
        department=department, statuses={status: total for status, total, _, _ in rows},
        open=sum(total for _, total, _, final in rows if not final),
        overdue=sum(late for _, _, late, _ in rows))
