"""Who may see which rows: the caller's view of one tenant, from a verified :class:`Principal`.

The one rule every service applied to reading, in one place:

- a machine client with the service's read scope sees all of its tenant; without it, 403;
- a citizen sees only their own rows (``account_id``); a subject that is no UUID sees nothing;
- a tenant admin sees all of the tenant;
- staff see rows of the departments where they hold a role (one of ``roles`` if given);
  staff with no such role, 403;
- always one tenant: another tenant's row is "not found", never "forbidden".

Services narrow further (payment: a client's own ``source``; ticketing: which departments'
ticket codes may be read) by composing a :class:`Visibility`, not by re-deciding the above.
Write permissions stay in the services: they differ by noun.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from city_shared.auth import Principal
from city_shared.errors import Forbidden

__all__ = ["Visibility", "staff_departments", "visibility"]


@dataclass(frozen=True)
class Visibility:
    """The rows a caller may see: always one tenant, optionally narrowed to one account's own
    rows or to some departments. ``nothing`` matches no row at all."""

    tenant: str
    account_id: uuid.UUID | None = None
    departments: frozenset[str] | None = None
    nothing: bool = False

    @property
    def whole_tenant(self) -> bool:
        """True if every row of :attr:`tenant` is visible."""
        return self.account_id is None and self.departments is None and not self.nothing

    def sees_department(self, department: str | None) -> bool:
        """True if a row of ``department`` (None: tenant-wide, e.g. a shared template) is
        visible by department. Says nothing about ``account_id``: filter that in the query."""
        if self.nothing:
            return False
        return department is None or self.departments is None or department in self.departments


def staff_departments(principal: Principal, roles: Collection[str] | None = None) -> frozenset[str]:
    """The departments where ``principal`` holds any role (None) or one of ``roles``."""
    if roles is None:
        return principal.departments_with()
    return frozenset().union(*(principal.departments_with(role) for role in roles))


def visibility(principal: Principal, *, read_scope: str | None, citizens: bool = True,
               roles: Collection[str] | None = None, what: str = "These records") -> Visibility:
    """What ``principal`` may read, by the rules of this module.

    ``read_scope``: the scope a machine client needs (None: clients may not read at all).
    ``citizens``: False if citizens have no own rows here (they get 403). ``roles``: the staff
    roles that grant reading (None: any role). ``what`` names the rows in the 403 detail.

    :raises Forbidden: (403 ``forbidden``; ``required_scope`` for a client lacking the scope)
        a client without ``read_scope``, a citizen when ``citizens`` is False, staff without a
        role that grants reading who is no tenant admin.
    """
    tenant = principal.tenant
    if principal.kind == "client":
        if read_scope is None:
            raise Forbidden(f"{what} are not available to machine clients.")
        if principal.has_scope(read_scope):
            return Visibility(tenant)
        raise Forbidden(f"The access token lacks the scope '{read_scope}'.",
                        extra={"required_scope": read_scope})
    if principal.kind == "citizen":
        if not citizens:
            raise Forbidden(f"{what} are visible to staff only.")
        try:
            return Visibility(tenant, account_id=uuid.UUID(principal.sub))
        except ValueError:
            return Visibility(tenant, nothing=True)
    if principal.is_admin("tenant"):
        return Visibility(tenant)
    departments = staff_departments(principal, roles)
    if not departments:
        raise Forbidden(f"{what} are visible to staff with a role in a department.")
    return Visibility(tenant, departments=departments)
