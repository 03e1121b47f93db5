"""Who may read the ledger and the reports: staff holding ``manager`` or ``cashier`` read
their own departments, a tenant admin all of the tenant's, machine clients with the scope
``payment:reports`` all of their tenant's. Always within the caller's tenant."""

from __future__ import annotations

from dataclasses import dataclass

from city_shared.auth import Principal
from city_shared.errors import Forbidden

__all__ = ["REPORTS_SCOPE", "REPORT_ROLES", "ReportScope", "report_scope"]

REPORTS_SCOPE = "payment:reports"
REPORT_ROLES = ("manager", "cashier")


@dataclass(frozen=True)
class ReportScope:
    """The caller's tenant and the departments it may read (None: all of the tenant's)."""

    tenant: str
    departments: frozenset[str] | None

    def narrow(self, department: str | None) -> frozenset[str] | None:
        """The departments to read when the caller asks for ``department`` (None: all it may).

        :raises Forbidden: (403) the caller may not read ``department``.
        """
        if department is None:
            return self.departments
        if self.departments is not None and department not in self.departments:
            raise Forbidden("This department's figures are not available to this account.",
                            extra={"required_role": "manager"})
        return frozenset({department})


def report_scope(principal: Principal) -> ReportScope:
    """What ``principal`` may read of the ledger and the reports.

    :raises Forbidden: (403) a citizen, a client without ``payment:reports``, or staff with
        neither role in any department.
    """
    if principal.kind == "client":
        if principal.has_scope(REPORTS_SCOPE):
            return ReportScope(principal.tenant, None)
        raise Forbidden(f"The access token lacks the scope '{REPORTS_SCOPE}'.",
                        extra={"required_scope": REPORTS_SCOPE})
    if principal.kind == "staff":
        if principal.is_admin("tenant"):
            return ReportScope(principal.tenant, None)
        departments = frozenset().union(*(principal.departments_with(r) for r in REPORT_ROLES))
        if departments:
            return ReportScope(principal.tenant, departments)
    raise Forbidden("Ledger and reports are for a department's manager or cashier.",
                    extra={"required_role": "manager"})
