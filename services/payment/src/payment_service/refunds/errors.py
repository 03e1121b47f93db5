"""The domain errors of the refunds slice, each with its HTTP status and stable ``code``."""

from __future__ import annotations

from city_shared.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed

__all__ = [
    "PaymentNotFound",
    "PaymentNotRefundable",
    "PreconditionFailed",
    "RefundExceedsAvailable",
    "RefundNotFound",
    "RefundOutsideDepartment",
    "UnknownLineItem",
]


class RefundOutsideDepartment(Forbidden):
    """403: staff pay back only their departments' line items; this refund (or, without
    ``line_items``, the whole payment) takes money from another department's."""

    code = "refund_outside_department"
    title = "Refund outside the department"

    def __init__(self, departments: list[str]) -> None:
        super().__init__(
            "Staff refund only line items of departments where they are cashier or manager; "
            "name them in 'line_items'.",
            extra={"departments": departments},
        )


class UnknownLineItem(ValidationFailed):
    """422: ``line_items`` names a position the payment does not have."""

    code = "unknown_line_item"
    title = "Unknown line item"

    def __init__(self, position: int) -> None:
        super().__init__(f"The payment has no line item at position {position}.",
                         extra={"position": position})


class PaymentNotFound(NotFound):
    """404: no such payment in the caller's tenant, or the caller may not see it."""

    code = "payment_not_found"
    title = "Payment not found"


class RefundNotFound(NotFound):
    """404: no such refund of this payment (for this caller)."""

    code = "refund_not_found"
    title = "Refund not found"


class PaymentNotRefundable(Conflict):
    """409: only a succeeded payment (or money captured after expiry) can be refunded."""

    code = "payment_not_refundable"
    title = "Payment cannot be refunded"


class RefundExceedsAvailable(Conflict):
    """409: the amount is more than what is still refundable; ``available`` says how much is
    (the payment's amount less what was refunded and what refunds in progress hold)."""

    code = "refund_exceeds_available"
    title = "Refund exceeds the amount still refundable"

    def __init__(self, available: int) -> None:
        super().__init__(
            f"At most {available} minor units can still be refunded.",
            extra={"available": available},
        )
        self.available = available


class PreconditionFailed(DomainError):
    """412: ``If-Match`` names another version of the payment than the current one; read the
    payment again (its ``ETag``) and decide anew."""

    status = 412
    code = "precondition_failed"
    title = "Precondition failed"

