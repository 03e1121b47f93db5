"""Who may see and answer parts: staff see the parts asked of departments where they hold a
role (tenant admins all of their tenant); clerks and managers of the asked department answer.
Citizens and machine clients have no parts (403); another tenant's part is "not found"."""

from __future__ import annotations

from typing import Final

from city_shared.auth import Principal
from city_shared.errors import Forbidden
from city_shared.visibility import Visibility, visibility

__all__ = ["ANSWERING_ROLES", "part_visibility", "require_answerer", "require_department"]

ANSWERING_ROLES: Final = ("clerk", "manager")


def part_visibility(principal: Principal) -> Visibility:
    """The parts ``principal`` may read (never beyond its tenant).

    :raises Forbidden: (403) a citizen, a machine client, staff without any role who is no
        tenant admin.
    """
    return visibility(principal, read_scope=None, citizens=False, what="Parts")


def require_department(v: Visibility, department: str) -> None:
    """:raises Forbidden: (403) ``v`` does not see ``department``'s parts."""
    if not v.sees_department(department):
        raise Forbidden("Parts are visible to the staff of the department asked.",
                        extra={"department": department})


def require_answerer(principal: Principal, department: str) -> None:
    """:raises Forbidden: (403) ``principal`` is no clerk or manager of ``department`` (e.g.
    a tenant admin, who reads but takes no actions)."""
    if not (principal.kind == "staff"
            and any(principal.has_role(department, role) for role in ANSWERING_ROLES)):
        raise Forbidden("Only clerks and managers of the department asked answer its part.",
                        extra={"department": department})
