"""Who may do what in case management; every slice asks here instead of reading roles itself.

- The library (service definitions) is platform-wide: platform admins write it; anyone may read
  it, also without a token (it holds no local or personal data).
- Parameters of a department: written by a tenant admin or the department's ``manager``; read by
  them and by anyone with a role in that department. A department never sees or changes another
  department's parameters. Their public, effective view needs no token.
- Drafts belong to whoever started them: a citizen (for themself) or a machine client with
  ``case:write`` (on a citizen's behalf). Staff and other clients get 403.
- Cases: a citizen sees their own, staff those of departments where they hold a role, a tenant
  admin and clients with ``case:read`` all of their tenant.
- Always within the principal's tenant: another tenant's rows are "not found".
"""

from __future__ import annotations

from typing import Final

from city_shared.auth import Principal
from city_shared.errors import Forbidden
from city_shared.visibility import Visibility, visibility

__all__ = [
    "INTAKE_SCOPE",
    "READ_SCOPE",
    "WRITE_SCOPE",
    "case_visibility",
    "draft_owner",
    "may_write_parameters",
    "readable_parameter_departments",
    "require_library_admin",
    "require_parameters_writer",
]

READ_SCOPE: Final = "case:read"
WRITE_SCOPE: Final = "case:write"
INTAKE_SCOPE: Final = "case:intake"


def require_library_admin(principal: Principal) -> None:
    """:raises Forbidden: (403) ``principal`` is no platform admin."""
    if not (principal.kind == "staff" and principal.is_admin("platform")):
        raise Forbidden("Only platform administrators change the library.")


def may_write_parameters(principal: Principal, department: str) -> bool:
    """True if ``principal`` may write ``department``'s parameters (its own tenant assumed)."""
    return principal.kind == "staff" and (principal.is_admin("tenant")
                                          or principal.has_role(department, "manager"))


def require_parameters_writer(principal: Principal, department: str) -> None:
    """:raises Forbidden: (403) ``principal`` may not write ``department``'s parameters."""
    if not may_write_parameters(principal, department):
        raise Forbidden(f"Only managers of '{department}' and tenant administrators change its "
                        "parameters.", extra={"department": department})


def readable_parameter_departments(principal: Principal) -> frozenset[str] | None:
    """The departments whose parameters ``principal`` may read; None for all of its tenant.

    :raises Forbidden: (403) a citizen, a machine client, staff without any role.
    """
    if principal.kind == "staff":
        if principal.is_admin("tenant"):
            return None
        departments = principal.departments_with()
        if departments:
            return departments
    raise Forbidden("Parameters are for the staff of their department.")


def draft_owner(principal: Principal) -> str:
    """What ``Draft.owner`` says for ``principal``: ``citizen:<account id>`` or
    ``client:<client id>``.

    :raises Forbidden: (403) staff, or a client without ``case:write``.
    """
    if principal.kind == "citizen":
        return f"citizen:{principal.sub}"
    if principal.kind == "client":
        if principal.has_scope(WRITE_SCOPE):
            return f"client:{principal.sub}"
        raise Forbidden(f"The access token lacks the scope '{WRITE_SCOPE}'.",
                        extra={"required_scope": WRITE_SCOPE})
    raise Forbidden("Applications are made by citizens or by city systems on their behalf.")


def case_visibility(principal: Principal) -> Visibility:
    """What ``principal`` may read of cases (see the module).

    :raises Forbidden: (403) a client without ``case:read``, staff without any role who is no
        tenant admin.
    """
    return visibility(principal, read_scope=READ_SCOPE, what="Cases")
