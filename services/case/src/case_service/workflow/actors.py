"""Who acts on a case: the audit trail's actor name of a principal, and the process roles
(``clerk``, ``manager``, ``applicant``) a principal holds for one case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from case_service.process.spec import Actor
from city_shared.auth import Principal

if TYPE_CHECKING:
    from case_service.cases.models import Case

__all__ = ["actor_kind", "actor_of", "is_applicant", "is_case_staff", "roles_for"]


def actor_of(principal: Principal) -> str:
    """``staff:<sub>``, ``citizen:<sub>`` or ``client:<id>``."""
    return f"{principal.kind}:{principal.sub}"


def is_applicant(principal: Principal, case: Case) -> bool:
    """True for the citizen the case is for, or the city system that submitted it."""
    if principal.kind == "citizen":
        return case.account_id is not None and str(case.account_id) == principal.sub
    return principal.kind == "client" and case.submitted_by == f"client:{principal.sub}"


def roles_for(principal: Principal, case: Case) -> frozenset[Actor]:
    """The process roles ``principal`` holds for ``case``: ``clerk``/``manager`` of the case's
    department (staff of its tenant), ``applicant``. Tenant admins hold none."""
    if principal.tenant != case.tenant:
        return frozenset()
    if principal.kind == "staff":
        roles: set[Actor] = set()
        if principal.has_role(case.department, "clerk"):
            roles.add("clerk")
        if principal.has_role(case.department, "manager"):
            roles.add("manager")
        return frozenset(roles)
    return frozenset({"applicant"}) if is_applicant(principal, case) else frozenset()


def is_case_staff(principal: Principal, case: Case) -> bool:
    """True for staff with any role in the case's department (of its tenant)."""
    return (principal.kind == "staff" and principal.tenant == case.tenant
            and case.department in principal.departments_with())


def actor_kind(roles: frozenset[Actor]) -> str:
    """``applicant`` or ``staff``: how an event names who took a transition."""
    return "applicant" if "applicant" in roles else "staff"
