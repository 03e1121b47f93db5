"""Use cases on departments. Flushes, never commits."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from identity_service.tenancy import repository
from identity_service.tenancy.errors import DepartmentExists, DepartmentNotFound
from identity_service.tenancy.models import Department
from identity_service.tenancy.schemas import DepartmentCreate, DepartmentUpdate

__all__ = ["create_department", "get_department", "list_departments", "update_department"]


async def list_departments(session: AsyncSession, tenant: str) -> list[Department]:
    """All departments of ``tenant``."""
    return await repository.list_departments(session, tenant)


async def get_department(session: AsyncSession, tenant: str, slug: str) -> Department:
    """:raises DepartmentNotFound: ``tenant`` has no department ``slug``."""
    department = await repository.get_department(session, tenant, slug)
    if department is None:
        raise DepartmentNotFound()
    return department


async def create_department(
    session: AsyncSession, tenant: str, data: DepartmentCreate
) -> Department:
    """Create a department in ``tenant``.

    :raises DepartmentExists: the slug is taken in this tenant (also when two requests race).
    """
    stmt = (
        insert(Department)
        .values(tenant=tenant, slug=data.slug, name=data.name, cost_centre=data.cost_centre)
        .on_conflict_do_nothing(index_elements=[Department.tenant, Department.slug])
        .returning(Department.slug)
    )
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        raise DepartmentExists()
    return await get_department(session, tenant, data.slug)


async def update_department(
    session: AsyncSession, tenant: str, slug: str, data: DepartmentUpdate
) -> Department:
    """Change name and/or cost centre of a department of ``tenant``.

    :raises DepartmentNotFound: no such department in this tenant.
    """
    department = await repository.get_department(session, tenant, slug, for_update=True)
    if department is None:
        raise DepartmentNotFound()
    if data.name is not None:
        department.name = data.name
    if data.cost_centre is not None:
        department.cost_centre = data.cost_centre
    await session.flush()
    return department
