"""Who may administer what inside a tenant: tenant admins everything, department managers
their own departments. The tenant always comes from the verified token, never from input.

Changes a city would protect (departments, staff and their roles, OAuth clients, signing keys)
need a login of at least :data:`STEP_UP_LEVEL` (``substantial``): a stolen password alone does
not administer the city. Reading stays open at ``basic``. A caller below the level gets 403
``insufficient_assurance`` with ``required_acr`` and logs in again with ``acr_values``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from city_shared.auth import AcrLevel, CurrentPrincipal, Principal, require_admin
from city_shared.errors import Forbidden, InsufficientAssurance

__all__ = [
    "STEP_UP_LEVEL",
    "AdminScope",
    "StaffAdmin",
    "StaffAdminStepUp",
    "StepUpAdmin",
    "StepUpPlatformAdmin",
    "TenantAdmin",
    "TenantAdminStepUp",
    "require_step_up",
    "staff_admin",
    "tenant_admin",
]

#: The level of assurance administrative changes require.
STEP_UP_LEVEL: AcrLevel = "substantial"


def require_step_up(principal: Principal) -> None:
    """:raises InsufficientAssurance: (403) the login is below :data:`STEP_UP_LEVEL`."""
    if not principal.meets(STEP_UP_LEVEL):
        raise InsufficientAssurance(
            STEP_UP_LEVEL,
            f"Administrative changes require a login at level '{STEP_UP_LEVEL}': log in again "
            f"with acr_values={STEP_UP_LEVEL} (e.g. with the eID).",
        )


@dataclass(frozen=True)
class AdminScope:
    """An administrating caller: their tenant, whether they administer all of it, and the
    departments they manage (role ``manager``)."""

    principal: Principal
    tenant_admin: bool
    managed: frozenset[str]

    @property
    def tenant(self) -> str:
        """The only tenant the caller may touch."""
        return self.principal.tenant

    def may_manage(self, department: str) -> bool:
        """True if the caller may administer ``department`` of their tenant."""
        return self.tenant_admin or department in self.managed


def _scope(principal: Principal) -> AdminScope:
    if principal.kind != "staff":
        raise Forbidden("Administration is only available to staff accounts.")
    return AdminScope(
        principal=principal,
        tenant_admin=principal.is_admin("tenant"),
        managed=principal.departments_with("manager"),
    )


async def staff_admin(principal: CurrentPrincipal) -> AdminScope:
    """A dependency: a tenant admin or a department manager; else 403 ``forbidden``."""
    scope = _scope(principal)
    if not scope.tenant_admin and not scope.managed:
        raise Forbidden("This operation requires a tenant administrator or a department manager.")
    return scope


async def tenant_admin(principal: CurrentPrincipal) -> AdminScope:
    """A dependency: a tenant (or platform) admin, within their own tenant; else 403."""
    scope = _scope(principal)
    if not scope.tenant_admin:
        raise Forbidden("This operation requires a tenant administrator.")
    return scope


async def staff_admin_step_up(scope: Annotated[AdminScope, Depends(staff_admin)]) -> AdminScope:
    """As :func:`staff_admin`, for changes: also requires :data:`STEP_UP_LEVEL`."""
    require_step_up(scope.principal)
    return scope


async def tenant_admin_step_up(scope: Annotated[AdminScope, Depends(tenant_admin)]) -> AdminScope:
    """As :func:`tenant_admin`, for changes: also requires :data:`STEP_UP_LEVEL`."""
    require_step_up(scope.principal)
    return scope


_TENANT_ADMIN = require_admin("tenant")
_PLATFORM_ADMIN = require_admin("platform")


async def step_up_tenant_admin(
    principal: Annotated[Principal, Depends(_TENANT_ADMIN)],
) -> Principal:
    """As ``require_admin("tenant")``, for changes: also requires :data:`STEP_UP_LEVEL`."""
    require_step_up(principal)
    return principal


async def step_up_platform_admin(
    principal: Annotated[Principal, Depends(_PLATFORM_ADMIN)],
) -> Principal:
    """As ``require_admin("platform")``, for changes: also requires :data:`STEP_UP_LEVEL`."""
    require_step_up(principal)
    return principal


StaffAdmin = Annotated[AdminScope, Depends(staff_admin)]
TenantAdmin = Annotated[AdminScope, Depends(tenant_admin)]
StaffAdminStepUp = Annotated[AdminScope, Depends(staff_admin_step_up)]
TenantAdminStepUp = Annotated[AdminScope, Depends(tenant_admin_step_up)]
StepUpAdmin = Annotated[Principal, Depends(step_up_tenant_admin)]
StepUpPlatformAdmin = Annotated[Principal, Depends(step_up_platform_admin)]
