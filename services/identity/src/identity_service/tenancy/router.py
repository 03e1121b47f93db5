"""Admin API for departments: ``/admin/departments``. The tenant is the caller's."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Response, status

from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import accept_idempotency_key
from city_shared.slugs import SLUG_MAX_LENGTH, SLUG_PATTERN
from identity_service.tenancy import service
from identity_service.tenancy.access import StaffAdmin, TenantAdminStepUp
from identity_service.tenancy.schemas import DepartmentCreate, DepartmentRead, DepartmentUpdate

__all__ = ["router"]

router = APIRouter(prefix="/admin/departments", tags=["admin"])
_SlugPath = Path(pattern=SLUG_PATTERN, max_length=SLUG_MAX_LENGTH,
                 description="The department's slug.")


@router.get(
    "",
    summary="List the departments of my tenant",
    responses=problem_responses(401, 403),
)
async def list_departments(session: SessionDep, caller: StaffAdmin) -> list[DepartmentRead]:
    """For tenant admins and department managers."""
    departments = await service.list_departments(session, caller.tenant)
    return [DepartmentRead.model_validate(d) for d in departments]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a department in my tenant",
    responses=problem_responses(401, 403, 409, 422),
    dependencies=[Depends(accept_idempotency_key)],
)
async def create_department(
    data: DepartmentCreate, session: SessionDep, caller: TenantAdminStepUp, response: Response
) -> DepartmentRead:
    """Tenant admins only. 409 ``department_exists`` if the slug is taken."""
    department = await service.create_department(session, caller.tenant, data)
    response.headers["Location"] = f"/admin/departments/{department.slug}"
    return DepartmentRead.model_validate(department)


@router.get(
    "/{slug}",
    summary="Show a department of my tenant",
    responses=problem_responses(401, 403, 404),
)
async def get_department(
    session: SessionDep, caller: StaffAdmin, slug: str = _SlugPath
) -> DepartmentRead:
    """For tenant admins and department managers."""
    return DepartmentRead.model_validate(
        await service.get_department(session, caller.tenant, slug)
    )


@router.patch(
    "/{slug}",
    summary="Rename a department or change its cost centre",
    responses=problem_responses(401, 403, 404, 422),
)
async def update_department(
    data: DepartmentUpdate, session: SessionDep, caller: TenantAdminStepUp,
    slug: str = _SlugPath
) -> DepartmentRead:
    """Tenant admins only; a department of another tenant is 404."""
    department = await service.update_department(session, caller.tenant, slug, data)
    return DepartmentRead.model_validate(department)
