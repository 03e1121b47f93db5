"""The verified caller of a request (:class:`Principal`) and how it is read from token claims.

Claims (access token issued by identity)::

    sub        str, required     account id (citizen/staff) or client id (machine client)
    tenant     str, required     municipality slug the token is valid for, e.g. "stuttgart"
    kind       str, required     "citizen" | "staff" | "client"
    acr        str, required     "basic" | "substantial" | "high"
    roles      object, optional  department slug -> list of roles, {"museum": ["manager"]}
    scope      str, optional     space-separated scopes (RFC 9068), "tickets:read orders:write"
    admin      str, optional     "tenant" | "platform": an administrator, on top of ``kind``
    client_id  str, optional     the OAuth client the token was issued to (RFC 9068)

Administration is a flag, not a kind: a tenant admin is usually a ``staff`` account with
``admin: "tenant"``. Being an admin grants no department role implicitly (see ``has_role``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["AcrLevel", "AdminLevel", "Kind", "Principal"]

Kind = Literal["citizen", "staff", "client"]
AcrLevel = Literal["basic", "substantial", "high"]
AdminLevel = Literal["tenant", "platform"]

_ACR_ORDER: dict[str, int] = {level: rank for rank, level in enumerate(get_args(AcrLevel))}
_ADMIN_ORDER: dict[str, int] = {level: rank for rank, level in enumerate(get_args(AdminLevel))}


class Principal(BaseModel):
    """Who is calling, for which tenant, with which roles, scopes and level of assurance.

    Immutable. Built only from a verified token (:meth:`from_claims`), never from request input.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sub: str = Field(min_length=1)
    tenant: str = Field(min_length=1)
    kind: Kind
    acr: AcrLevel
    roles: dict[str, frozenset[str]] = Field(default_factory=dict)
    scopes: frozenset[str] = frozenset()
    admin: AdminLevel | None = None
    client_id: str | None = None

    @field_validator("roles")
    @classmethod
    def _drop_empty_departments(cls, value: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        return {department: roles for department, roles in value.items() if roles}

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Read a principal from verified JWT claims.

        :raises ValueError: (incl. ``pydantic.ValidationError``) a claim is missing or has the
            wrong shape, e.g. ``scope`` not a string, an unknown ``kind`` or ``acr``.
        """
        scope = claims.get("scope")
        if scope is not None and not isinstance(scope, str):
            raise ValueError("claim 'scope' must be a space-separated string")
        return cls.model_validate(
            {
                "sub": claims.get("sub"),
                "tenant": claims.get("tenant"),
                "kind": claims.get("kind"),
                "acr": claims.get("acr"),
                "roles": claims.get("roles") or {},
                "scopes": frozenset(scope.split()) if scope else frozenset(),
                "admin": claims.get("admin"),
                "client_id": claims.get("client_id"),
            }
        )

    def has_role(self, department: str, role: str) -> bool:
        """True if the principal holds ``role`` in ``department`` (of its own tenant)."""
        return role in self.roles.get(department, frozenset())

    def departments_with(self, role: str | None = None) -> frozenset[str]:
        """Departments where the principal holds ``role``, or any role if ``role`` is None.

        Meant for query filters: "staff see only their departments' rows".
        """
        return frozenset(
            department
            for department, roles in self.roles.items()
            if roles and (role is None or role in roles)
        )

    def has_scope(self, scope: str) -> bool:
        """True if the token was granted ``scope``."""
        return scope in self.scopes

    def meets(self, level: AcrLevel) -> bool:
        """True if the login's level of assurance is at least ``level``
        (basic < substantial < high)."""
        return _ACR_ORDER[self.acr] >= _ACR_ORDER[level]

    def is_admin(self, level: AdminLevel = "tenant") -> bool:
        """True if the principal administers at least ``level``; a platform admin is also a
        tenant admin (of its own ``tenant``)."""
        return self.admin is not None and _ADMIN_ORDER[self.admin] >= _ADMIN_ORDER[level]
