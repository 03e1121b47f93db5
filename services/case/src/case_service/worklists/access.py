"""Who reads a department's worklist and reports: its staff (reports: its managers) and the
tenant's administrators. Another tenant's department is simply empty: every query is narrowed
to the caller's tenant."""

from __future__ import annotations

from case_service.worklists.errors import ManagersOnly, NotYourDepartment, NotYourTenant
from city_shared.auth import Principal

__all__ = ["is_tenant_admin", "require_report_reader", "require_tenant_admin",
           "require_worklist_reader"]


def is_tenant_admin(principal: Principal) -> bool:
    """True for a staff account administering its tenant (a platform admin too)."""
    return principal.kind == "staff" and principal.is_admin("tenant")


def require_worklist_reader(principal: Principal, department: str) -> None:
    """:raises NotYourDepartment: (403) neither staff with a role in ``department`` nor a
    tenant admin (citizens and machine clients included)."""
    if is_tenant_admin(principal):
        return
    if principal.kind == "staff" and department in principal.departments_with():
        return
    raise NotYourDepartment(department)


def require_report_reader(principal: Principal, department: str) -> None:
    """:raises NotYourDepartment: (403) no role in ``department`` at all;
    :raises ManagersOnly: (403) a role there, but not ``manager``."""
    if is_tenant_admin(principal):
        return
    require_worklist_reader(principal, department)
    if not principal.has_role(department, "manager"):
        raise ManagersOnly(department)


def require_tenant_admin(principal: Principal, tenant: str) -> None:
    """:raises NotYourTenant: (403) no admin of ``tenant``."""
    if not (is_tenant_admin(principal) and principal.tenant == tenant):
        raise NotYourTenant()
