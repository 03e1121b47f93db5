"""Queries of parts; never commits. Reads for people are narrowed to what they may see;
the use cases lock the case row before any of its parts (the platform's locking order)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import ColumnElement, Select, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.parts.models import CasePart
from city_shared.pagination import Cursor
from city_shared.visibility import Visibility

__all__ = ["NO_DUE_DATE", "UNANSWERED", "due_key", "get_visible", "list_visible", "lock",
           "next_waiting", "of_case", "unanswered_count"]

NO_DUE_DATE: Final = datetime(9999, 12, 31, tzinfo=UTC)
"""Where a part without a due date (a sequence's ``waiting`` part) sorts: after all others."""
UNANSWERED: Final = ("waiting", "open")


def due_key() -> ColumnElement[datetime]:
    """The sort key of the parts list: ``due_at``, missing ones last."""
    return func.coalesce(CasePart.due_at, literal(NO_DUE_DATE))


def _visible(query: Select[tuple[CasePart]], v: Visibility) -> Select[tuple[CasePart]]:
    query = query.where(CasePart.tenant == v.tenant)
    if v.nothing or v.account_id is not None:
        return query.where(CasePart.id.is_(None))
    if v.departments is not None:
        query = query.where(CasePart.department.in_(sorted(v.departments)))
    return query


async def get_visible(session: AsyncSession, v: Visibility,
                      part_id: uuid.UUID) -> CasePart | None:
    """The part if ``v`` sees it, else None."""
    part: CasePart | None = await session.scalar(
        _visible(select(CasePart).where(CasePart.id == part_id), v))
    return part


async def lock(session: AsyncSession, part_id: uuid.UUID) -> CasePart | None:
    """The part, row locked and re-read (lock its case first)."""
    part: CasePart | None = await session.scalar(
        select(CasePart).where(CasePart.id == part_id).with_for_update()
        .execution_options(populate_existing=True))
    return part


async def list_visible(session: AsyncSession, v: Visibility, *, department: str | None,
                       status: str | None, cursor: Cursor | None,
                       limit: int) -> Sequence[CasePart]:
    """Up to ``limit + 1`` parts ``v`` sees, most urgent first (``due_at``, then id) after
    ``cursor``."""
    query = _visible(select(CasePart), v)
    if department is not None:
        query = query.where(CasePart.department == department)
    if status is not None:
        query = query.where(CasePart.status == status)
    if cursor is not None:
        query = query.where(tuple_(due_key(), CasePart.id) > (cursor.at, cursor.id))
    query = query.order_by(due_key(), CasePart.id).limit(limit + 1)
    return (await session.scalars(query)).all()


async def of_case(session: AsyncSession, case_id: uuid.UUID, *,
                  for_update: bool = False) -> Sequence[CasePart]:
    """The parts of a case in their order (row locked if ``for_update``: lock the case
    first)."""
    query = select(CasePart).where(CasePart.case_id == case_id).order_by(
        CasePart.position, CasePart.created_at, CasePart.id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(query)).all()


async def next_waiting(session: AsyncSession, case_id: uuid.UUID,
                       step: str) -> CasePart | None:
    """The first ``waiting`` part ``step`` opened on the case, row locked (lock the case
    first); None when none waits."""
    part: CasePart | None = await session.scalar(
        select(CasePart).where(CasePart.case_id == case_id, CasePart.step == step,
                               CasePart.status == "waiting")
        .order_by(CasePart.position, CasePart.id).limit(1).with_for_update()
        .execution_options(populate_existing=True))
    return part


async def unanswered_count(session: AsyncSession, case_id: uuid.UUID) -> int:
    """How many parts of the case are ``waiting`` or ``open``."""
    count = await session.scalar(select(func.count()).select_from(CasePart).where(
        CasePart.case_id == case_id, CasePart.status.in_(UNANSWERED)))
    return int(count or 0)
