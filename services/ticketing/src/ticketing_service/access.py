"""Who may do what in ticketing; every slice asks here instead of reading roles itself.

- Catalogue (venues, offerings, ticket types, quotas, rules, slots) of a department: changed by
  its staff with the role ``manager``, a tenant admin, or a machine client with
  ``ticketing:write``; read by anyone with a role there, a tenant admin, or a client with a
  ticketing scope. Its public view needs no token.
- Reports of a department: its managers and cashiers, a tenant admin, clients with
  ``ticketing:read``.
- Orders: citizens place and see their own; staff see orders with a line of a department where
  they hold any role (and only those lines); a tenant admin and clients with
  ``ticketing:read`` see all of the tenant.
- Ticket codes, QR payloads and an order's checkout page are credentials (free entry or
  someone else's payment): staff read them only in departments where they are ``cashier`` or
  ``manager``; a gatekeeper sees tickets and orders without them.
- Check-in: staff with ``gatekeeper`` or ``manager`` in the scanning department.
- Always within the principal's tenant: another tenant's rows are "not found".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from city_shared.auth import Principal
from city_shared.errors import Forbidden
from city_shared.visibility import Visibility, staff_departments, visibility

__all__ = [
    "CREDENTIAL_ROLES",
    "GATE_ROLES",
    "READ_SCOPE",
    "WRITE_SCOPE",
    "OrderVisibility",
    "may_manage",
    "order_visibility",
    "readable_catalogue_departments",
    "require_catalogue_reader",
    "require_gate",
    "require_manager",
    "require_report_reader",
]

READ_SCOPE: Final = "ticketing:read"
WRITE_SCOPE: Final = "ticketing:write"
GATE_ROLES: Final = frozenset({"gatekeeper", "manager"})
CREDENTIAL_ROLES: Final = frozenset({"cashier", "manager"})


def may_manage(principal: Principal, department: str) -> bool:
    """True if ``principal`` may change ``department``'s catalogue (its own tenant assumed)."""
    if principal.kind == "client":
        return principal.has_scope(WRITE_SCOPE)
    if principal.kind != "staff":
        return False
    return principal.is_admin("tenant") or principal.has_role(department, "manager")


def require_manager(principal: Principal, department: str) -> None:
    """:raises Forbidden: (403) ``principal`` may not change ``department``'s catalogue."""
    if not may_manage(principal, department):
        raise Forbidden(f"Only managers of '{department}' change its catalogue.",
                        extra={"department": department})


def require_catalogue_reader(principal: Principal, department: str) -> None:
    """Staff views of ``department``'s catalogue: any role there, a tenant admin, a client with
    ``ticketing:read`` (or ``ticketing:write``).

    :raises Forbidden: (403) anyone else, e.g. a citizen or staff of another department.
    """
    if may_manage(principal, department):
        return
    if principal.kind == "client" and principal.has_scope(READ_SCOPE):
        return
    if principal.kind == "staff" and department in principal.departments_with():
        return
    raise Forbidden(f"The catalogue of '{department}' is for its staff.",
                    extra={"department": department})


def readable_catalogue_departments(principal: Principal) -> frozenset[str] | None:
    """The departments whose catalogue ``principal`` may list; None for all of its tenant.

    :raises Forbidden: (403) a citizen, staff without any role, a client without a ticketing
        scope.
    """
    if principal.kind == "client":
        if principal.has_scope(READ_SCOPE) or principal.has_scope(WRITE_SCOPE):
            return None
    elif principal.kind == "staff":
        if principal.is_admin("tenant"):
            return None
        departments = principal.departments_with()
        if departments:
            return departments
    raise Forbidden("The catalogue is for staff with a role in a department.")


def require_report_reader(principal: Principal, department: str) -> None:
    """:raises Forbidden: (403) ``principal`` may not read ``department``'s reports."""
    if principal.kind == "client" and principal.has_scope(READ_SCOPE):
        return
    if principal.kind == "staff" and (principal.is_admin("tenant")
                                      or principal.has_role(department, "manager")
                                      or principal.has_role(department, "cashier")):
        return
    raise Forbidden(f"Reports of '{department}' are for its managers and cashiers.",
                    extra={"department": department})


def require_gate(principal: Principal, department: str) -> None:
    """:raises Forbidden: (403) ``principal`` does not work the gates of ``department``."""
    if principal.kind == "staff" and any(principal.has_role(department, role)
                                         for role in GATE_ROLES):
        return
    raise Forbidden(f"Only gate staff of '{department}' check tickets in there.",
                    extra={"department": department})


@dataclass(frozen=True)
class OrderVisibility(Visibility):
    """The orders a caller may see (the platform's :class:`~city_shared.visibility.Visibility`:
    one tenant, optionally one buyer's or some departments', whose lines alone are shown),
    narrowed by ``credential_departments``: the departments whose ticket codes, QR payloads
    and checkout pages the caller may read; None for every one it sees."""

    credential_departments: frozenset[str] | None = None

    def may_read_credentials(self, departments: Iterable[str]) -> bool:
        """True if the caller may read the codes of a ticket (or the checkout page of an
        order) concerning ``departments``: any one of them is enough."""
        if self.credential_departments is None:
            return True
        return not self.credential_departments.isdisjoint(departments)


def order_visibility(principal: Principal) -> OrderVisibility:
    """What ``principal`` may read of orders and tickets.

    :raises Forbidden: (403) a client without ``ticketing:read``, or staff without any role
        who is no tenant admin.
    """
    base = visibility(principal, read_scope=READ_SCOPE, what="Orders")
    credentials = (None if base.departments is None
                   else staff_departments(principal, CREDENTIAL_ROLES))
    return OrderVisibility(base.tenant, account_id=base.account_id,
                           departments=base.departments, nothing=base.nothing,
                           credential_departments=credentials)
