"""Queries of the templates slice; never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notification_service.templates.models import Template, TemplateVersion

__all__ = ["find_by_key", "get", "get_version", "list_templates", "lock"]


async def get(session: AsyncSession, tenant: str, template_id: uuid.UUID) -> Template | None:
    """The template of ``tenant`` with this id."""
    return (await session.execute(
        select(Template).where(Template.tenant == tenant, Template.id == template_id)
    )).scalar_one_or_none()


async def lock(session: AsyncSession, tenant: str, template_id: uuid.UUID) -> Template | None:
    """The template, locked for a new version (versions are numbered one after another)."""
    return (await session.execute(
        select(Template).where(Template.tenant == tenant, Template.id == template_id)
        .with_for_update()
    )).scalar_one_or_none()


async def find_by_key(
    session: AsyncSession, tenant: str, key: str, department: str | None, *, exact: bool = False
) -> Template | None:
    """The template for ``key``: the department's own first, else the tenant-wide one
    (``exact``: only the one of exactly this scope)."""
    scopes = [department] if exact or department is None else [department, None]
    for scope in scopes:
        condition = (Template.department.is_(None) if scope is None
                     else Template.department == scope)
        found = (await session.execute(
            select(Template).where(Template.tenant == tenant, Template.key == key, condition)
        )).scalar_one_or_none()
        if found is not None:
            return found
    return None


async def get_version(
    session: AsyncSession, template_id: uuid.UUID, version: int
) -> TemplateVersion | None:
    return await session.get(TemplateVersion, (template_id, version))


async def list_templates(
    session: AsyncSession, tenant: str, departments: frozenset[str] | None,
    department: str | None = None, key: str | None = None,
) -> Sequence[Template]:
    """The tenant's templates (tenant-wide plus ``departments``' if given), by key."""
    query = select(Template).where(Template.tenant == tenant)
    if departments is not None:
        query = query.where(Template.department.is_(None)
                            | Template.department.in_(sorted(departments)))
    if department is not None:
        query = query.where(Template.department == department)
    if key is not None:
        query = query.where(Template.key == key)
    query = query.order_by(Template.key, func.coalesce(Template.department, ""))
    return (await session.execute(query)).scalars().all()
