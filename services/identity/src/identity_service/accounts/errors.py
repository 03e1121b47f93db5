"""The domain errors of the accounts slice, each with its HTTP status and stable ``code``.

Details never name the e-mail address, the password or any other submitted value.
"""

from __future__ import annotations

import math
from datetime import datetime

from city_shared.errors import Conflict, DomainError, Forbidden, NotFound

__all__ = [
    "AccountLocked",
    "AccountNotFound",
    "EmailTaken",
    "InvalidCredentials",
    "InvalidCurrentPassword",
    "InvalidVerificationToken",
    "SelfRoleChange",
    "UnknownDepartment",
    "WeakPassword",
]


class AccountNotFound(NotFound):
    """404: no such account in the caller's tenant (or it was erased)."""

    code = "account_not_found"
    title = "Account not found"


class EmailTaken(Conflict):
    """409: another account of the tenant already uses this e-mail address."""

    code = "email_taken"
    title = "E-mail address already registered"


class WeakPassword(DomainError):
    """422: the new password breaks the password policy; the detail names the rule."""

    status = 422
    code = "weak_password"
    title = "Password too weak"


class InvalidCredentials(DomainError):
    """401: wrong e-mail or password. Deliberately the same for an unknown e-mail address, a
    wrong password and an account that may not log in."""

    status = 401
    code = "invalid_credentials"
    title = "Invalid credentials"

    def __init__(self) -> None:
        super().__init__("The e-mail address or the password is wrong.")


class AccountLocked(DomainError):
    """429: too many failed logins; no login (not even with the right password) until
    ``locked_until``. ``Retry-After`` carries the remaining seconds."""

    status = 429
    code = "account_locked"
    title = "Too many failed logins"

    def __init__(self, locked_until: datetime, now: datetime) -> None:
        seconds = max(1, math.ceil((locked_until - now).total_seconds()))
        super().__init__(
            "Too many failed logins. Try again later.",
            extra={"retry_after_seconds": seconds},
            headers={"Retry-After": str(seconds)},
        )
        self.locked_until = locked_until
        self.retry_after_seconds = seconds


class InvalidCurrentPassword(Forbidden):
    """403: changing the password needs the current one, and it was wrong."""

    code = "invalid_current_password"
    title = "Current password is wrong"


class InvalidVerificationToken(DomainError):
    """422: the e-mail verification token is unknown, already used or expired."""

    status = 422
    code = "invalid_verification_token"
    title = "Invalid verification token"

    def __init__(self) -> None:
        super().__init__("The verification link is invalid, was already used or has expired.")


class SelfRoleChange(Forbidden):
    """403: nobody changes their own roles."""

    code = "self_role_change"
    title = "Own roles cannot be changed"


class UnknownDepartment(DomainError):
    """422: a role names a department the tenant does not have."""

    status = 422
    code = "unknown_department"
    title = "Unknown department"
