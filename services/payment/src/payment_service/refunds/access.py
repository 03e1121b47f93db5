"""Who may see and who may request refunds, as :class:`Visibility` filters of the payments
slice (so "may not see the payment" is always 404, never a hint that it exists).

- request: staff holding ``cashier`` or ``manager`` in a department with a line item on the
  payment, for that department's line items only (the ``departments`` of the visibility); a
  tenant admin and machine clients with the scope ``payment:refund`` (any payment of their
  tenant, any line item);
- read: whoever may read the payment (payments slice rules), and clients with
  ``payment:refund``.
"""

from __future__ import annotations

from city_shared.auth import Principal
from city_shared.errors import Forbidden
from city_shared.visibility import visibility
from payment_service.payments import access
from payment_service.payments.access import Visibility

__all__ = ["REFUND_ROLES", "REFUND_SCOPE", "refund_readers", "refund_requesters"]

REFUND_SCOPE = "payment:refund"
REFUND_ROLES = ("cashier", "manager")


def refund_requesters(principal: Principal) -> Visibility:
    """The payments ``principal`` may refund (:func:`city_shared.visibility.visibility` with
    ``payment:refund`` and the roles ``cashier``, ``manager``; no citizens).

    :raises Forbidden: (403) a citizen, a client without ``payment:refund``, or staff with
        neither role in any department (``required_role``, as before the shared rule).
    """
    try:
        rows = visibility(principal, read_scope=REFUND_SCOPE, citizens=False,
                          roles=REFUND_ROLES, what="Refunds")
    except Forbidden:
        if principal.kind == "client":
            raise
        raise Forbidden("Refunds are requested by a department's cashier or manager.",
                        extra={"required_role": "cashier"}) from None
    return Visibility.of(rows)


def refund_readers(principal: Principal, client_sources: dict[str, str]) -> Visibility:
    """The payments whose refunds ``principal`` may read.

    :raises Forbidden: (403) as the payments slice decides (e.g. a client without a payment
        scope).
    """
    if principal.kind == "client" and principal.has_scope(REFUND_SCOPE):
        return Visibility(principal.tenant)
    return access.visibility(principal, client_sources)
