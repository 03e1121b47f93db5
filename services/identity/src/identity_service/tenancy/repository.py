"""Queries on tenants and departments; departments are always looked up within a tenant."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.tenancy.models import Department, Tenant

__all__ = ["existing_slugs", "get_department", "get_tenant", "list_departments"]


async def get_tenant(session: AsyncSession, slug: str) -> Tenant | None:
    """The tenant ``slug``."""
    return await session.get(Tenant, slug)


async def get_department(
    session: AsyncSession, tenant: str, slug: str, *, for_update: bool = False
) -> Department | None:
    """The department ``slug`` of ``tenant``."""
    stmt = select(Department).where(Department.tenant == tenant, Department.slug == slug)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_departments(session: AsyncSession, tenant: str) -> list[Department]:
    """The departments of ``tenant`` by slug."""
    stmt = select(Department).where(Department.tenant == tenant).order_by(Department.slug)
    return list((await session.execute(stmt)).scalars())


async def existing_slugs(session: AsyncSession, tenant: str, slugs: Collection[str]) -> set[str]:
    """Which of ``slugs`` are departments of ``tenant``."""
    if not slugs:
        return set()
    stmt = select(Department.slug).where(
        Department.tenant == tenant, Department.slug.in_(list(slugs))
    )
    return set((await session.execute(stmt)).scalars())
