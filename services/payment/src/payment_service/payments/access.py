"""Who may see and change which payments; every query goes through a :class:`Visibility`.

- machine clients: scope ``payment:write`` to create and cancel (their own source's payments);
  ``payment:read`` to read all payments of their tenant; ``payment:write`` alone reads only
  the payments of their own source;
- citizens: the payments whose payer is their account;
- staff: the payments with a line item of a department where they hold a role, showing only
  those line items; a tenant admin sees all payments of the tenant;
- always within the principal's tenant: another tenant's payment is "not found".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from city_shared.auth import Principal
from city_shared.errors import Forbidden

__all__ = ["READ_SCOPE", "WRITE_SCOPE", "Visibility", "client_source", "require_writer",
           "visibility"]

READ_SCOPE = "payment:read"
WRITE_SCOPE = "payment:write"
_MAX_SOURCE = 100


@dataclass(frozen=True)
class Visibility:
    """The payments a caller may see: always one tenant, optionally narrowed to one payer,
    some departments (whose line items alone are shown) or one source. ``nothing`` matches no
    payment at all."""

    tenant: str
    payer_account_id: uuid.UUID | None = None
    departments: frozenset[str] | None = None
    source: str | None = None
    nothing: bool = False


def client_source(principal: Principal, client_sources: dict[str, str]) -> str:
    """The payment ``source`` a machine client acts under (its service name if mapped in
    ``client_sources``, else its client id).

    :raises Forbidden: the client id is too long to be a source.
    """
    client_id = principal.client_id or principal.sub
    source = client_sources.get(client_id, client_id)
    if len(source) > _MAX_SOURCE:
        raise Forbidden("This client's id cannot identify a payment source.")
    return source


def require_writer(principal: Principal) -> Principal:
    """The principal, if it is a machine client with ``payment:write``.

    :raises Forbidden: (403) a person, or a client without the scope.
    """
    if principal.kind != "client":
        raise Forbidden("Payments are created and cancelled by services (machine clients).")
    if not principal.has_scope(WRITE_SCOPE):
        raise Forbidden(f"The access token lacks the scope '{WRITE_SCOPE}'.",
                        extra={"required_scope": WRITE_SCOPE})
    return principal


def visibility(principal: Principal, client_sources: dict[str, str]) -> Visibility:
    """What ``principal`` may read.

    :raises Forbidden: (403) a client without a payment scope, or staff without any
        department role who is no tenant admin.
    """
    tenant = principal.tenant
    if principal.kind == "client":
        if principal.has_scope(READ_SCOPE):
            return Visibility(tenant)
        if principal.has_scope(WRITE_SCOPE):
            return Visibility(tenant, source=client_source(principal, client_sources))
        raise Forbidden(f"The access token lacks the scope '{READ_SCOPE}'.",
                        extra={"required_scope": READ_SCOPE})
    if principal.kind == "citizen":
        try:
            return Visibility(tenant, payer_account_id=uuid.UUID(principal.sub))
        except ValueError:
            return Visibility(tenant, nothing=True)
    if principal.is_admin("tenant"):
        return Visibility(tenant)
    departments = principal.departments_with()
    if not departments:
        raise Forbidden("Payments are visible to staff with a role in a department.")
    return Visibility(tenant, departments=departments)
