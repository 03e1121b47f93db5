"""The domain errors of the orders slice, each with its HTTP status and stable ``code``.

Details never quote submitted values; a problem about one line of a basket names it in
``errors`` (``loc`` ``["body", "lines", <index>, <field>]``) like request validation does.
Another tenant's order is always "not found".
"""

from __future__ import annotations

import uuid
from datetime import datetime

from city_shared.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from city_shared.pagination import InvalidCursor

__all__ = [
    "AccountRequired",
    "AccountTicketLimit",
    "CancellationNotAllowed",
    "InvalidCursor",
    "InvalidLine",
    "MixedCurrencies",
    "NotABuyer",
    "NotOnSale",
    "OrderNotFound",
    "SalesClosed",
    "SlotNotAllowed",
    "SlotRequired",
    "SoldOut",
    "TicketsUsed",
    "TooManyOpenOrders",
    "TooManyTickets",
    "UnknownSlot",
    "UnknownTicketType",
]


class OrderNotFound(NotFound):
    """404: no such order, or not one the caller may see."""

    code = "order_not_found"
    title = "Order not found"


class NotABuyer(Forbidden):
    """403: orders are placed by citizens (for themselves) and by machine clients with
    ``ticketing:write`` (for a citizen named in the body); staff tokens do not buy."""

    code = "forbidden"
    title = "Forbidden"


class InvalidLine(ValidationFailed):
    """422 base: one line of the basket cannot be ordered as given."""

    def __init__(self, index: int, field: str, message: str,
                 extra: dict[str, str | int | None] | None = None) -> None:
        super().__init__(
            message, errors=[FieldError(loc=["body", "lines", index, field], msg=message,
                                        type=self.code)],
            extra=extra)


class UnknownTicketType(InvalidLine):
    """422: the ticket type does not exist in the caller's tenant."""

    code = "unknown_ticket_type"
    title = "Unknown ticket type"


class UnknownSlot(InvalidLine):
    """422: the slot does not exist or belongs to another offering than the ticket type."""

    code = "unknown_slot"
    title = "Unknown slot"


class SlotRequired(InvalidLine):
    """422: a ticket of a timed offering needs a ``slot_id``."""

    code = "slot_required"
    title = "Slot required"


class SlotNotAllowed(InvalidLine):
    """422: passes and combos are not sold per slot; leave ``slot_id`` out."""

    code = "slot_not_allowed"
    title = "Slot not allowed"


class TooManyTickets(InvalidLine):
    """422: more tickets of one offering than its ``max_tickets_per_order``."""

    code = "too_many_tickets"
    title = "Too many tickets"


class AccountRequired(ValidationFailed):
    """422: a machine client orders for a citizen and must name them in ``account_id``."""

    code = "account_id_required"
    title = "Account required"


class MixedCurrencies(ValidationFailed):
    """422: all tickets of one order must be priced in one currency."""

    code = "mixed_currencies"
    title = "Mixed currencies"


class NotOnSale(Conflict):
    """409: the ticket type is inactive or its offering is not on sale now."""

    code = "not_on_sale"
    title = "Not on sale"

    def __init__(self, ticket_type_id: uuid.UUID) -> None:
        super().__init__("This ticket type is not on sale now.",
                         extra={"ticket_type_id": str(ticket_type_id)})


class SalesClosed(Conflict):
    """409: the slot is closed, has started, or its sales closed before it starts."""

    code = "sales_closed"
    title = "Sales closed"

    def __init__(self, slot_id: uuid.UUID, closed_at: datetime | None) -> None:
        super().__init__("Tickets for this slot are no longer sold.",
                         extra={"slot_id": str(slot_id),
                                "sales_closed_at": closed_at.isoformat() if closed_at else None})


class SoldOut(Conflict):
    """409: not enough places left in a slot (or in a quota of it, e.g. reduced tickets);
    nothing of the order is held. ``places_left`` says how many are free."""

    code = "sold_out"
    title = "Sold out"

    def __init__(self, *, slot_id: uuid.UUID, ticket_type_ids: list[uuid.UUID],
                 quota_id: uuid.UUID | None, requested: int, left: int) -> None:
        what = "quota of this slot" if quota_id else "slot"
        super().__init__(
            f"The {what} has {left} places left; the order needs {requested}.",
            extra={"slot_id": str(slot_id), "ticket_type_ids": [str(t) for t in ticket_type_ids],
                   "quota_id": str(quota_id) if quota_id else None,
                   "places_requested": requested, "places_left": left})


class CancellationNotAllowed(Conflict):
    """409: the order cannot be cancelled by the citizen (any more); ``deadline`` is when it
    could be cancelled until (null: never by the citizen)."""

    code = "cancellation_not_allowed"
    title = "Cancellation not allowed"

    def __init__(self, detail: str, deadline: datetime | None) -> None:
        super().__init__(detail, extra={"deadline": deadline.isoformat() if deadline else None})


class TicketsUsed(Conflict):
    """409: a ticket of the order was already used at a gate."""

    code = "tickets_used"
    title = "Tickets already used"


class AccountTicketLimit(Conflict):
    """409: the account would hold more tickets of one slot than the offering's
    ``max_tickets_per_account`` (its orders awaiting payment, confirmed or being cancelled)."""

    code = "account_ticket_limit"
    title = "Ticket limit per account reached"

    def __init__(self, slot_id: uuid.UUID, limit: int, held: int) -> None:
        super().__init__("This account may not hold more tickets of this slot.",
                         extra={"slot_id": str(slot_id), "max_tickets_per_account": limit,
                                "held": held})


class TooManyOpenOrders(Conflict):
    """409: the account already has the offering's ``max_open_orders_per_account`` orders
    awaiting payment; pay one or let it expire first."""

    code = "too_many_open_orders"
    title = "Too many unpaid orders"

    def __init__(self, offering_id: uuid.UUID, limit: int) -> None:
        super().__init__("Pay or let an unpaid order of this offering expire first.",
                         extra={"offering_id": str(offering_id),
                                "max_open_orders_per_account": limit})
