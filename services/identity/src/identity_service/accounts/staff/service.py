"""Use cases of staff administration. Everything is scoped to the caller's tenant; a manager
sees and changes only what concerns their departments. Flushes, never commits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from city_shared import outbox
from city_shared.errors import Forbidden
from identity_service.accounts import events, repository
from identity_service.accounts.config import VerificationConfig
from identity_service.accounts.errors import AccountNotFound, SelfRoleChange, UnknownDepartment
from identity_service.accounts.models import Account, StaffRole
from identity_service.accounts.service import create_account
from identity_service.accounts.staff.schemas import RolesUpdate, StaffCreate
from identity_service.tenancy import repository as tenancy
from identity_service.tenancy.access import AdminScope
from identity_service.topics import ACCOUNTS

__all__ = ["create_staff", "get_staff", "list_staff", "replace_roles"]


def _visible(account: Account | None, caller: AdminScope) -> Account:
    if account is None or account.kind != "staff" or account.status == "erased":
        raise AccountNotFound()
    if not caller.tenant_admin and not caller.managed & {r.department for r in account.roles}:
        raise AccountNotFound()
    return account


async def list_staff(
    session: AsyncSession, caller: AdminScope, *, limit: int, offset: int
) -> list[Account]:
    """Tenant admin: all staff of the tenant; manager: staff with a role in their departments."""
    departments = None if caller.tenant_admin else caller.managed
    return await repository.list_staff(
        session, caller.tenant, departments=departments, limit=limit, offset=offset
    )


async def get_staff(session: AsyncSession, caller: AdminScope, account_id: uuid.UUID) -> Account:
    """A staff member the caller may see.

    :raises AccountNotFound: not a staff account of the caller's tenant, or (for a manager)
        not working in any of their departments.
    """
    return _visible(await repository.get(session, caller.tenant, account_id), caller)


async def create_staff(
    session: AsyncSession,
    caller: AdminScope,
    data: StaffCreate,
    *,
    config: VerificationConfig,
    now: datetime | None = None,
) -> Account:
    """Create a staff account without roles in the caller's tenant (tenant admins only; the
    router enforces it). Effects and errors as :func:`create_account`."""
    return await create_account(
        session,
        tenant=caller.tenant,
        kind="staff",
        email=data.email,
        password=data.password,
        given_name=data.given_name,
        family_name=data.family_name,
        locale=data.locale,
        config=config,
        now=now or datetime.now(UTC),
    )


async def replace_roles(
    session: AsyncSession, caller: AdminScope, account_id: uuid.UUID, data: RolesUpdate
) -> Account:
    """Replace the roles of a staff member within the caller's reach; publishes
    ``account.roles_changed`` if anything changed. The account row is locked, so concurrent
    changes apply one after the other. Unchanged grants keep their ``granted_at``.

    A manager reaches only staff who already hold a role in one of their departments (others,
    also staff without any role yet, are the tenant admin's to assign: 404 as in
    :func:`get_staff`) and never an administrator's account (403).

    :raises SelfRoleChange: the caller is the staff member.
    :raises AccountNotFound: no staff account with this id in the caller's tenant, or (for a
        manager) none within their reach.
    :raises UnknownDepartment: a department the tenant does not have.
    :raises Forbidden: a manager naming a department they do not manage.
    """
    if str(account_id) == caller.principal.sub:
        raise SelfRoleChange("Nobody can change their own roles.")
    account = await repository.get_for_update(session, caller.tenant, account_id)
    account = _visible(account, caller)
    if account.admin is not None and not caller.tenant_admin:
        raise Forbidden("Only tenant administrators change the roles of an administrator.")
    named = set(data.roles)
    unknown = named - await tenancy.existing_slugs(session, caller.tenant, named)
    if unknown:
        raise UnknownDepartment(
            "The tenant has no department with this slug.",
            extra={"departments": sorted(unknown)},
        )
    outside = {d for d in named if not caller.may_manage(d)}
    if outside:
        raise Forbidden(
            "Managers can change roles in their own departments only.",
            extra={"departments": sorted(outside)},
        )
    current = {(grant.department, grant.role): grant for grant in account.roles}
    wanted = data.grants()
    if not caller.tenant_admin:  # a manager's request leaves other departments alone
        wanted |= {key for key in current if key[0] not in caller.managed}
    removed = [grant for key, grant in current.items() if key not in wanted]
    added = sorted(wanted - current.keys())
    if not removed and not added:
        return account
    granted_by = _account_id(caller.principal.sub)
    for grant in removed:
        account.roles.remove(grant)
    for department, role in added:
        account.roles.append(StaffRole(
            tenant=caller.tenant, department=department, role=role, granted_by=granted_by
        ))
    await session.flush()
    await outbox.add(session, ACCOUNTS, events.roles_changed(account))
    return account


def _account_id(sub: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(sub)
    except ValueError:
        return None
