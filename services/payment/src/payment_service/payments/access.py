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

from dataclasses import dataclass

from city_shared.auth import Principal
from city_shared.errors import Forbidden
from city_shared.visibility import Visibility as RowVisibility
from city_shared.visibility import visibility as rows_visibility

__all__ = ["READ_SCOPE", "WRITE_SCOPE", "Visibility", "client_source", "require_writer",
           "visibility"]

READ_SCOPE = "payment:read"
WRITE_SCOPE = "payment:write"
_MAX_SOURCE = 100


@dataclass(frozen=True)
class Visibility(RowVisibility):
    """The payments a caller may see: the platform's rule (one tenant, optionally narrowed to
    the payer's own account or to some departments, whose line items alone are shown) plus,
    for a client that may only write, its own ``source``."""

    source: str | None = None

    @property
    def whole_tenant(self) -> bool:
        """True if every payment of :attr:`tenant` is visible."""
        return super().whole_tenant and self.source is None

    @classmethod
    def of(cls, rows: RowVisibility) -> Visibility:
        """The payments view of the platform's ``rows`` view."""
        return cls(rows.tenant, account_id=rows.account_id, departments=rows.departments,
                   nothing=rows.nothing)


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
    """What ``principal`` may read (:func:`city_shared.visibility.visibility` with
    ``payment:read``, except that a client with only ``payment:write`` reads its own source's
    payments).

    :raises Forbidden: (403) a client without a payment scope, or staff without any
        department role who is no tenant admin.
    """
    if (principal.kind == "client" and not principal.has_scope(READ_SCOPE)
            and principal.has_scope(WRITE_SCOPE)):
        return Visibility(principal.tenant, source=client_source(principal, client_sources))
    return Visibility.of(rows_visibility(principal, read_scope=READ_SCOPE, what="Payments"))
