"""Admin API for staff: ``/admin/staff``. Tenant from the token; other tenants' staff are 404."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from city_shared.dependencies import SessionDep
from city_shared.errors import problem_responses
from city_shared.idempotency import accept_idempotency_key
from identity_service.accounts.config import VerificationConfigDep
from identity_service.accounts.staff import service
from identity_service.accounts.staff.schemas import RolesUpdate, StaffCreate, StaffRead
from identity_service.tenancy.access import StaffAdmin, StaffAdminStepUp, TenantAdminStepUp

__all__ = ["router"]

router = APIRouter(prefix="/admin/staff", tags=["admin"])


@router.get("", summary="List staff", responses=problem_responses(401, 403))
async def list_staff(
    session: SessionDep,
    caller: StaffAdmin,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[StaffRead]:
    """Tenant admins see all staff of their tenant; managers the staff with a role in one of
    their departments. Sorted by name."""
    accounts = await service.list_staff(session, caller, limit=limit, offset=offset)
    return [StaffRead.of(a) for a in accounts]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a staff account",
    responses=problem_responses(401, 403, 409, 422),
    dependencies=[Depends(accept_idempotency_key)],
)
async def create_staff(
    data: StaffCreate,
    session: SessionDep,
    caller: TenantAdminStepUp,
    config: VerificationConfigDep,
    response: Response,
) -> StaffRead:
    """Tenant admins only. The account starts without roles and with an unverified e-mail
    address (a verification link is sent). Admin flags cannot be granted here."""
    account = await service.create_staff(session, caller, data, config=config)
    response.headers["Location"] = f"/admin/staff/{account.id}"
    return StaffRead.of(account)


@router.get(
    "/{account_id}", summary="Show a staff member", responses=problem_responses(401, 403, 404)
)
async def get_staff(
    account_id: uuid.UUID, session: SessionDep, caller: StaffAdmin
) -> StaffRead:
    """404 for anyone outside the caller's reach (another tenant, a citizen, or for a manager
    someone without a role in their departments)."""
    return StaffRead.of(await service.get_staff(session, caller, account_id))


@router.put(
    "/{account_id}/roles",
    summary="Replace a staff member's roles",
    responses=problem_responses(401, 403, 404, 422),
)
async def replace_roles(
    account_id: uuid.UUID, data: RolesUpdate, session: SessionDep, caller: StaffAdminStepUp
) -> StaffRead:
    """Tenant admins replace all roles; managers those in their own departments. Nobody
    changes their own roles (403 ``self_role_change``); an unknown department is 422
    ``unknown_department``."""
    account = await service.replace_roles(session, caller, account_id, data)
    return StaffRead.of(account)
