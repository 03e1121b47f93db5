"""Queries of cases; never commits. Every read is narrowed to what the caller may see."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from case_service.attachments.models import Attachment
from case_service.cases.models import Case, CaseHistory
from city_shared.pagination import Cursor
from city_shared.visibility import Visibility

__all__ = ["attachments_of", "get_visible", "history_of", "list_visible", "lock"]


def _visible(query: Select[tuple[Case]], v: Visibility) -> Select[tuple[Case]]:
    query = query.where(Case.tenant == v.tenant)
    if v.nothing:
        return query.where(Case.id.is_(None))
    if v.account_id is not None:
        query = query.where(Case.account_id == v.account_id)
    if v.departments is not None:
        query = query.where(Case.department.in_(sorted(v.departments)))
    return query


async def get_visible(session: AsyncSession, v: Visibility, case_id: uuid.UUID, *,
                      for_update: bool = False) -> Case | None:
    """The case if ``v`` sees it (row locked if ``for_update``), else None."""
    query = _visible(select(Case).where(Case.id == case_id), v)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    case: Case | None = await session.scalar(query)
    return case


async def lock(session: AsyncSession, tenant: str, case_id: uuid.UUID) -> Case | None:
    """The case of ``tenant``, row locked (payment answers decide by its state)."""
    case: Case | None = await session.scalar(
        select(Case).where(Case.id == case_id, Case.tenant == tenant).with_for_update()
        .execution_options(populate_existing=True))
    return case


async def list_visible(session: AsyncSession, v: Visibility, *, status: str | None,
                       service_id: uuid.UUID | None, cursor: Cursor | None,
                       limit: int) -> Sequence[Case]:
    """Up to ``limit + 1`` cases newest first after ``cursor``."""
    query = _visible(select(Case), v)
    if status is not None:
        query = query.where(Case.status == status)
    if service_id is not None:
        query = query.where(Case.service_id == service_id)
    if cursor is not None:
        query = query.where(tuple_(Case.submitted_at, Case.id) < (cursor.at, cursor.id))
    query = query.order_by(Case.submitted_at.desc(), Case.id.desc()).limit(limit + 1)
    return (await session.scalars(query)).all()


async def attachments_of(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Attachment]:
    return (await session.scalars(select(Attachment).where(Attachment.case_id == case_id)
                                  .order_by(Attachment.created_at, Attachment.id))).all()


async def history_of(session: AsyncSession, case_id: uuid.UUID) -> Sequence[CaseHistory]:
    return (await session.scalars(select(CaseHistory).where(CaseHistory.case_id == case_id)
                                  .order_by(CaseHistory.id))).all()
