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
    String,
    and_,
    column,
    extract,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    values,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.cases.models import Case
from case_service.worklists.cursor import DueCursor
from case_service.worklists.finals import is_final, is_open, open_statuses
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


def _conditions(f: WorklistFilter) -> list[ColumnElement[bool]]:
    """Every filter but the status."""
    where = [Case.tenant == f.tenant, Case.department == f.department]
    if f.service_id is not None:
        where.append(Case.service_id == f.service_id)
    if f.unassigned:
        where.append(Case.assignee.is_(None))
    elif f.assignee is not None:
        where.append(Case.assignee == f.assignee)
    if f.due_before is not None:
        where.append(Case.due_at < f.due_before)
    if f.overdue:
        where.append(overdue(f.now))
    if f.q is not None:
        where.append(_search(f.q))
    return where


def _after(cursor: DueCursor | None, *, dated: bool) -> list[ColumnElement[bool]]:
    """The keyset position of one of the two ranges (dated cases, then undated ones)."""
    after: list[ColumnElement[bool]]
    if not dated:
        after = [Case.due_at.is_(None)]
        if cursor is not None and cursor.due_at is None:
            after.append(Case.id > cursor.id)
        return after
    after = [Case.due_at.is_not(None)]
    if cursor is not None:
        after.append(tuple_(Case.due_at, Case.id) > (cursor.due_at, cursor.id))
    return after


def _page_query(f: WorklistFilter, statuses: Sequence[str], cursor: DueCursor | None,
                limit: int, *, dated: bool) -> Select[Any]:
    """One range's page. One status, or a text search (a few matches, found through the
    GIN index): a plain query the worklist index orders. Several statuses: one ordered,
    limited index range per status (a LATERAL join over the statuses) merged by one small
    sort, instead of sorting every case of the department."""
    order = (Case.due_at, Case.id) if dated else (Case.id,)
    base = select(*COLUMNS, overdue(f.now).label("overdue")).where(
        *_conditions(f), *_after(cursor, dated=dated))
    if len(statuses) <= 1 or f.q is not None:
        status = (Case.status.in_(statuses) if statuses else is_open())
        return base.where(status).order_by(*order).limit(limit)
    source = values(column("status", String), name="st").data([(s,) for s in statuses])
    per_status = base.where(Case.status == source.c.status).order_by(*order).limit(limit) \
        .lateral("c")
    merged: Select[Any] = select(*per_status.c).select_from(source).join(per_status, true())
    keys = ((per_status.c.due_at, per_status.c.id) if dated else (per_status.c.id,))
    return merged.order_by(*keys).limit(limit)


async def worklist_page(session: AsyncSession, f: WorklistFilter, cursor: DueCursor | None,
                        limit: int) -> Sequence[Row[tuple[object, ...]]]:
    """Up to ``limit + 1`` rows after ``cursor``, by ``due_at`` then id, the cases without a
    due date last. Two index-friendly range scans instead of one ``NULLS LAST`` predicate:
    the dated cases first, then (only if the page is not full) the undated ones. Without
    ``statuses`` (and without a text search) the open statuses are read first (one small
    query) so that each gets its own index range."""
    statuses = sorted(set(f.statuses))
    if not statuses and f.q is None:
        statuses = await open_statuses(session)
    rows: list[Row[tuple[object, ...]]] = []
    if cursor is None or cursor.due_at is not None:
        rows = list((await session.execute(
            _page_query(f, statuses, cursor, limit + 1, dated=True))).all())
    if len(rows) <= limit and not f.dated_only:
        rows += (await session.execute(
            _page_query(f, statuses, cursor, limit + 1 - len(rows), dated=False))).all()
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
