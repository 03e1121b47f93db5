"""Who may administer what inside a tenant: tenant admins everything, department managers
their own departments. The tenant always comes from the verified token, never from input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from city_shared.auth import CurrentPrincipal, Principal
from city_shared.errors import Forbidden

__all__ = ["AdminScope", "StaffAdmin", "TenantAdmin", "staff_admin", "tenant_admin"]


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


StaffAdmin = Annotated[AdminScope, Depends(staff_admin)]
TenantAdmin = Annotated[AdminScope, Depends(tenant_admin)]
