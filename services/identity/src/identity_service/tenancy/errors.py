"""The domain errors of the tenancy slice (tenants and departments)."""

from __future__ import annotations

from city_shared.errors import Conflict, NotFound

__all__ = ["DepartmentExists", "DepartmentNotFound", "TenantNotFound"]


class TenantNotFound(NotFound):
    """404: no such tenant (municipality)."""

    code = "tenant_not_found"
    title = "Tenant not found"


class DepartmentNotFound(NotFound):
    """404: no such department in the caller's tenant."""

    code = "department_not_found"
    title = "Department not found"


class DepartmentExists(Conflict):
    """409: the tenant already has a department with this slug."""

    code = "department_exists"
    title = "Department already exists"
