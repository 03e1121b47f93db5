"""Who may see and change templates, rules and messages; every query goes through a
:class:`city_shared.visibility.Visibility` (:func:`staff_scope`).

- tenant admins: everything of their tenant;
- staff: tenant-wide templates and rules plus those of departments where they hold any role
  (read); department managers change those of their own department only;
- citizens and machine clients: none of it (403);
- always within the principal's tenant: another tenant's row is "not found".
"""

from __future__ import annotations

from city_shared.auth import Principal
from city_shared.errors import Forbidden
from city_shared.visibility import Visibility, visibility

__all__ = ["MANAGER_ROLE", "check_manage", "staff_scope"]

MANAGER_ROLE = "manager"


def staff_scope(principal: Principal) -> Visibility:
    """The read scope of ``principal`` (the platform's rule, :mod:`city_shared.visibility`):
    the whole tenant for tenant admins, else tenant-wide rows and those of the departments
    where the staff member holds a role (:meth:`Visibility.sees_department`).

    :raises Forbidden: (403) a citizen, a machine client, or staff without any role who is no
        tenant admin.
    """
    return visibility(principal, read_scope=None, citizens=False,
                      what="Templates, rules and deliveries")


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
