"""The domain errors of the payments slice, each with its HTTP status and stable ``code``.

Status changes the state machine refuses raise the shared
:class:`city_shared.errors.InvalidTransition`. Details never quote submitted values.
"""

from __future__ import annotations

from city_shared.errors import Conflict, DomainError, NotFound
from city_shared.pagination import InvalidCursor

__all__ = [
    "InvalidCursor",
    "LineItemsMismatch",
    "PaymentNotFound",
    "ReferenceConflict",
    "ReturnUrlNotAllowed",
    "UnknownProvider",
]


class PaymentNotFound(NotFound):
    """404: no such payment, or the caller may not see it (another tenant, another payer)."""

    code = "payment_not_found"
    title = "Payment not found"


class LineItemsMismatch(DomainError):
    """422: the line items do not add up to the payment's amount."""

    status = 422
    code = "line_items_mismatch"
    title = "Line items do not add up to the amount"

    def __init__(self, amount: int, total: int) -> None:
        super().__init__(
            "The sum of the line items must equal the amount.",
            extra={"amount": amount, "line_items_total": total},
        )


class ReturnUrlNotAllowed(DomainError):
    """422: ``return_url`` points to an origin the city did not register."""

    status = 422
    code = "return_url_not_allowed"
    title = "Return URL not allowed"

    def __init__(self, origin: str) -> None:
        super().__init__(
            "The return URL must point to an origin registered for payments "
            "(CITY_PAYMENT_RETURN_URL_ORIGINS).",
            extra={"origin": origin},
        )


class ReferenceConflict(Conflict):
    """409: this source already has a payment with this reference, for other terms (amount,
    currency or line items). The same terms return the existing payment instead."""

    code = "reference_conflict"
    title = "Reference already used for a different payment"

    def __init__(self, payment_id: str) -> None:
        super().__init__(
            "A payment with this reference exists with a different amount, currency or line "
            "items.",
            extra={"payment_id": payment_id},
        )


class UnknownProvider(DomainError):
    """503: the payment's provider is not configured in this deployment."""

    status = 503
    code = "provider_unavailable"
    title = "Payment provider unavailable"
