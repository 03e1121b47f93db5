"""HTTP models of the staff admin API: ``StaffCreate`` / ``StaffRead`` / ``RolesUpdate``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.config import JsonDict

from city_shared.slugs import is_slug
from city_shared.text import PlainText, Secret
from identity_service.accounts.models import ROLES, Account
from identity_service.accounts.schemas import Email, Locale

__all__ = ["Role", "RolesMap", "RolesUpdate", "StaffCreate", "StaffRead"]

Role = Literal["manager", "clerk", "cashier", "gatekeeper"]
assert get_args(Role) == ROLES, "Role must list exactly accounts.models.ROLES"

_MAX_DEPARTMENTS = 100


def _check_roles(value: object) -> object:
    """Validate the map by hand, before pydantic would: its errors name the offending key in
    ``loc``, and a key is client input that must not be echoed."""
    if not isinstance(value, dict) or len(value) > _MAX_DEPARTMENTS:
        raise ValueError(f"must be an object with at most {_MAX_DEPARTMENTS} departments")
    for department, roles in value.items():
        if not is_slug(department):
            raise ValueError("every key must be a department slug")
        if not isinstance(roles, list) or len(roles) > len(ROLES) * 4:
            raise ValueError("every value must be a list of roles")
        if any(role not in ROLES for role in roles):
            raise ValueError(f"roles must be among: {', '.join(ROLES)}")
    return value


#: department slug -> roles in it
RolesMap = Annotated[dict[str, list[Role]], BeforeValidator(_check_roles)]

_ROLES_EXAMPLE: JsonDict = {"museum": ["cashier"], "pools": ["cashier", "gatekeeper"]}


class StaffCreate(BaseModel):
    """A new staff account of the caller's tenant with an initial password; roles are given
    afterwards with ``PUT /admin/staff/{id}/roles``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "kasse.museum@example.org", "password": "Start-Passwort-2026!",
                          "given_name": "Karla", "family_name": "Kasse", "locale": "de"}]
        },
    )

    email: Email
    password: Secret
    given_name: PlainText
    family_name: PlainText
    locale: Locale = "de"


class RolesUpdate(BaseModel):
    """The staff member's roles, per department of the tenant, replacing the current ones.

    A tenant admin replaces all roles; a department manager replaces the roles in the
    departments they manage (and may name only those), other departments stay untouched.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"roles": _ROLES_EXAMPLE}
    ]})

    roles: RolesMap

    def grants(self) -> set[tuple[str, str]]:
        """The requested (department, role) pairs, without duplicates."""
        return {(department, role) for department, roles in self.roles.items() for role in roles}


class StaffRead(BaseModel):
    """A staff account as administrators see it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0b6f8f3e-6a1d-5c55-8f0e-3f1e9d7c2a10", "tenant": "musterstadt",
        "email": "kasse.museum@example.org", "email_verified": True, "given_name": "Karla",
        "family_name": "Kasse", "locale": "de", "status": "active", "admin": None,
        "roles": {"museum": ["cashier"]}, "last_login_at": None,
        "created_at": "2026-11-26T10:00:00Z",
    }]})

    id: uuid.UUID
    tenant: str
    email: str | None
    email_verified: bool
    given_name: str | None
    family_name: str | None
    locale: str
    status: str
    admin: str | None
    roles: dict[str, list[str]]
    last_login_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, account: Account) -> StaffRead:
        """The view of ``account``."""
        return cls(
            id=account.id,
            tenant=account.tenant,
            email=account.email,
            email_verified=account.email_verified_at is not None,
            given_name=account.given_name,
            family_name=account.family_name,
            locale=account.locale,
            status=account.status,
            admin=account.admin,
            roles=account.roles_by_department(),
            last_login_at=account.last_login_at,
            created_at=account.created_at,
        )
