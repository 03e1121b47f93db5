"""The domain errors of worklists and reports, each with its HTTP status and stable ``code``."""

from __future__ import annotations

from city_shared.errors import Forbidden, ValidationFailed

__all__ = ["InvalidPeriod", "ManagersOnly", "NotYourDepartment", "NotYourTenant"]


class NotYourDepartment(Forbidden):
    """403: the caller holds no role in the department (and is no tenant admin)."""

    code = "not_your_department"
    title = "Not your department"

    def __init__(self, department: str) -> None:
        super().__init__(f"Only staff of '{department}' and tenant administrators see its "
                         "cases.", extra={"department": department})


class ManagersOnly(Forbidden):
    """403: reports are for the department's managers and tenant admins, not its clerks."""

    code = "managers_only"
    title = "Managers only"

    def __init__(self, department: str) -> None:
        super().__init__(f"Only managers of '{department}' and tenant administrators read its "
                         "reports.", extra={"department": department})


class NotYourTenant(Forbidden):
    """403: a tenant's report is for that tenant's administrators."""

    code = "not_your_tenant"
    title = "Not your tenant"

    def __init__(self) -> None:
        super().__init__("Only this tenant's administrators read its reports.")


class InvalidPeriod(ValidationFailed):
    """422: ``from`` lies after ``to``, or the period is longer than a report covers."""

    code = "invalid_period"
    title = "Invalid period"
