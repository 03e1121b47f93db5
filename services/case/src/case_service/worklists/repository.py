"""Queries of worklists and reports; never commits. Every query is narrowed to one tenant and
(but for the tenant's report) one department, and reads columns, not whole case files.

The generated ``cases.search`` column is read here only (``cases/models.py`` does not map it).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Float,
    Row,
    Select,
    and_,
    extract,
    false,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.models import Case
from case_service.worklists.cursor import DueCursor
from case_service.worklists.finals import is_final, is_open
from case_service.worklists.search import prefix_query

__all__ = ["WorklistFilter", "count_statuses", "decided_stats", "open_counts", "worklist_page"]

_T = TypeVar("_T", bound=tuple[Any, ...])

SEARCH = literal_column("cases.search", type_=TSVECTOR)
#: What a worklist row reads.
COLUMNS = (Case.id, Case.number, Case.service_id, Case.status, Case.assignee,
           Case.applicant_name, Case.submitted_at, Case.due_at, Case.state_deadline)


@dataclass(frozen=True)
class WorklistFilter:
    """The filters of a worklist. ``statuses`` empty: every open status;
    ``unassigned``: only cases without an assignee (``assignee`` is then ignored)."""

    tenant: str
    department: str
    now: datetime
    statuses: Collection[str] = ()
    service_id: uuid.UUID | None = None
    assignee: str | None = None
    unassigned: bool = False
    due_before: datetime | None = None
    overdue: bool = False
    q: str | None = None

    @property
    def dated_only(self) -> bool:
        """True if no case without a due date can match."""
        return self.due_before is not None or self.overdue


def _search(q: str) -> ColumnElement[bool]:
    prefix = prefix_query(q)
    if prefix is None:
        return false()
    return or_(SEARCH.op("@@")(func.plainto_tsquery("simple", q)),
               SEARCH.op("@@")(func.to_tsquery("simple", prefix)))


def overdue(now: datetime) -> ColumnElement[bool]:
    """True for an open case whose ``due_at`` has passed (false without a due date)."""
    return and_(Case.due_at.is_not(None), Case.due_at < now, is_open())


def _filtered(f: WorklistFilter) -> Select[Any]:
    query: Select[Any] = select(*COLUMNS, overdue(f.now).label("overdue")).where(
        Case.tenant == f.tenant, Case.department == f.department)
    if f.statuses:
        statuses = sorted(set(f.statuses))
        query = query.where(Case.status == statuses[0] if len(statuses) == 1
                            else Case.status.in_(statuses))
    else:
        query = query.where(is_open())
    if f.service_id is not None:
        query = query.where(Case.service_id == f.service_id)
    if f.unassigned:
        query = query.where(Case.assignee.is_(None))
    elif f.assignee is not None:
        query = query.where(Case.assignee == f.assignee)
    if f.due_before is not None:
        query = query.where(Case.due_at < f.due_before)
    if f.overdue:
        query = query.where(overdue(f.now))
    if f.q is not None:
        query = query.where(_search(f.q))
    return query


async def worklist_page(session: AsyncSession, f: WorklistFilter, cursor: DueCursor | None,
                        limit: int) -> Sequence[Row[tuple[object, ...]]]:
    """Up to ``limit + 1`` rows after ``cursor``, by ``due_at`` then id, the cases without a
    due date last. Two index-friendly range scans instead of one ``NULLS LAST`` predicate:
    the dated cases first, then (only if the page is not full) the undated ones."""
    rows: list[Row[tuple[object, ...]]] = []
    if cursor is None or cursor.due_at is not None:
        dated = _filtered(f).where(Case.due_at.is_not(None))
        if cursor is not None:
            dated = dated.where(tuple_(Case.due_at, Case.id) > (cursor.due_at, cursor.id))
        rows = list((await session.execute(
            dated.order_by(Case.due_at, Case.id).limit(limit + 1))).all())
    if len(rows) <= limit and not f.dated_only:
        undated = _filtered(f).where(Case.due_at.is_(None))
        if cursor is not None and cursor.due_at is None:
            undated = undated.where(Case.id > cursor.id)
        rows += (await session.execute(
            undated.order_by(Case.id).limit(limit + 1 - len(rows)))).all()
    return rows


async def count_statuses(session: AsyncSession, tenant: str, department: str,
                         now: datetime) -> list[tuple[str, int, int, bool]]:
    """``(status, cases, overdue cases, final)`` of the department, one grouped query."""
    result = await session.execute(
        select(Case.status, func.count(), func.count().filter(overdue(now)),
               func.bool_and(is_final()))
        .where(Case.tenant == tenant, Case.department == department)
        .group_by(Case.status).order_by(Case.status))
    return [(status, total, late, final) for status, total, late, final in result.all()]


def _scope(query: Select[_T], tenant: str, department: str | None) -> Select[_T]:
    query = query.where(Case.tenant == tenant)
    return query if department is None else query.where(Case.department == department)


async def open_counts(session: AsyncSession, tenant: str, department: str | None,
                      now: datetime) -> list[tuple[str, uuid.UUID, str, int, int]]:
    """``(department, service_id, status, open cases, of them overdue)`` now."""
    query = _scope(select(Case.department, Case.service_id, Case.status, func.count(),
                          func.count().filter(Case.due_at < now)), tenant, department)
    result = await session.execute(
        query.where(is_open())
        .group_by(Case.department, Case.service_id, Case.status))
    return [tuple(row) for row in result.all()]


async def decided_stats(session: AsyncSession, tenant: str, department: str | None,
                        start: datetime, end: datetime,
                        ) -> list[tuple[str, uuid.UUID, int, float | None, float | None, int]]:
    """``(department, service_id, decided, median days, p90 days, decided late)`` of the
    cases decided in ``[start, end)``; percentiles interpolated (``percentile_cont``)."""
    days = (extract("epoch", Case.decided_at - Case.submitted_at) / 86400.0).cast(Float)
    query = _scope(select(
        Case.department, Case.service_id, func.count(),
        func.percentile_cont(0.5).within_group(days),
        func.percentile_cont(0.9).within_group(days),
        func.count().filter(Case.decided_at > Case.due_at)), tenant, department)
    result = await session.execute(
        query.where(Case.decided_at >= start, Case.decided_at < end)
        .group_by(Case.department, Case.service_id))
    return [tuple(row) for row in result.all()]
