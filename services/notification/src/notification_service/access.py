"""Who may see and change templates, rules and messages; every query goes through a
:class:`StaffScope`.

- tenant admins: everything of their tenant;
- staff: tenant-wide templates and rules plus those of departments where they hold any role
  (read); department managers change those of their own department only;
- citizens and machine clients: none of it (403);
- always within the principal's tenant: another tenant's row is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass

from city_shared.auth import Principal
from city_shared.errors import Forbidden

__all__ = ["MANAGER_ROLE", "StaffScope", "check_manage", "staff_scope"]

MANAGER_ROLE = "manager"


@dataclass(frozen=True)
class StaffScope:
    """What a staff member may read: one tenant, and (unless ``departments`` is None) only
    tenant-wide rows and rows of these departments."""

    tenant: str
    departments: frozenset[str] | None

    def sees(self, department: str | None) -> bool:
        """True if a row of ``department`` (None: tenant-wide) is visible."""
        return department is None or self.departments is None or department in self.departments


def staff_scope(principal: Principal) -> StaffScope:
    """The read scope of ``principal``.

    :raises Forbidden: (403) a citizen, a machine client, or staff without any role who is no
        tenant admin.
    """
    if principal.is_admin("tenant"):
        return StaffScope(principal.tenant, None)
    if principal.kind != "staff":
        raise Forbidden("Templates, rules and deliveries are managed by staff.")
    departments = principal.departments_with()
    if not departments:
        raise Forbidden("This requires a role in a department or tenant administration.")
    return StaffScope(principal.tenant, departments)


def check_manage(principal: Principal, department: str | None) -> None:
    """Raise 403 unless ``principal`` may change rows of ``department`` (None: tenant-wide):
    tenant admins anything of their tenant, managers their own department's rows."""
    if principal.is_admin("tenant"):
        return
    if department is not None and principal.has_role(department, MANAGER_ROLE):
        return
    raise Forbidden(
        "Tenant administrators change tenant-wide rows; department managers their department's.",
        extra={"required_role": MANAGER_ROLE},
    )
