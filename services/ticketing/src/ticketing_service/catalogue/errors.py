"""The domain errors of the catalogue slice, each with its HTTP status and stable ``code``.

Details never quote submitted values. Rows of another tenant are always "not found"; another
department of the caller's own tenant is ``forbidden`` (raised by :mod:`ticketing_service.access`).
"""

from __future__ import annotations

from collections.abc import Sequence

from city_shared.errors import Conflict, DomainError, Forbidden, NotFound

__all__ = [
    "CapacityBelowReserved",
    "ComboConsentRequired",
    "ComboSharesMismatch",
    "InvalidComponent",
    "InvalidRange",
    "InvalidSalesWindow",
    "InvalidVenue",
    "NameTaken",
    "NotApplicable",
    "OfferingNotFound",
    "OfferingNotPublishable",
    "PreconditionFailed",
    "QuotaNotFound",
    "RangeTooLong",
    "RuleNotFound",
    "SlotExists",
    "SlotHasReservations",
    "SlotNotFound",
    "TicketTypeNotFound",
    "UnknownQuota",
    "VenueNotFound",
]


class _Unprocessable(DomainError):
    status = 422


class VenueNotFound(NotFound):
    """404: no such venue in the caller's tenant."""

    code = "venue_not_found"
    title = "Venue not found"


class OfferingNotFound(NotFound):
    """404: no such offering in the caller's tenant (public routes: or it is not published)."""

    code = "offering_not_found"
    title = "Offering not found"


class TicketTypeNotFound(NotFound):
    """404: no such ticket type in the caller's tenant."""

    code = "ticket_type_not_found"
    title = "Ticket type not found"


class QuotaNotFound(NotFound):
    """404: no such quota in the caller's tenant."""

    code = "quota_not_found"
    title = "Quota not found"


class RuleNotFound(NotFound):
    """404: no such opening rule in the caller's tenant."""

    code = "rule_not_found"
    title = "Opening rule not found"


class SlotNotFound(NotFound):
    """404: no such slot in the caller's tenant."""

    code = "slot_not_found"
    title = "Slot not found"


class NameTaken(Conflict):
    """409: the name or code is already used by a sibling (venue names per department, ticket
    type codes and quota names per offering)."""

    code = "name_taken"
    title = "Name already taken"

    def __init__(self, what: str) -> None:
        super().__init__(f"Another {what} already uses this name.", extra={"field": what})


class PreconditionFailed(DomainError):
    """412: ``If-Match`` names another version than the current one; read the resource again
    (its ``ETag``) and decide anew."""

    status = 412
    code = "precondition_failed"
    title = "Precondition failed"




class OfferingNotPublishable(Conflict):
    """409: publishing needs at least one active ticket type, and a timed offering slots or an
    opening rule; ``missing`` names what is lacking."""

    code = "offering_not_publishable"
    title = "Offering cannot be published yet"

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__("The offering lacks what it needs to be sold.",
                         extra={"missing": list(missing)})


class InvalidVenue(_Unprocessable):
    """422: the venue is not one of the offering's department (of the caller's tenant)."""

    code = "invalid_venue"
    title = "Venue not usable"


class InvalidSalesWindow(_Unprocessable):
    """422: ``sales_start_at`` must lie before ``sales_end_at``."""

    code = "invalid_sales_window"
    title = "Invalid sales window"


class NotApplicable(_Unprocessable):
    """422: the field or operation does not apply to this kind of offering (e.g. slots of a
    pass, ``visits > 1`` outside passes, ``components`` outside combos, a pass without
    ``valid_days``)."""

    code = "not_applicable"
    title = "Not applicable to this kind of offering"

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail, extra={"field": field})


class UnknownQuota(_Unprocessable):
    """422: ``quota_id`` is not a quota of this ticket type's offering."""

    code = "unknown_quota"
    title = "Unknown quota"


class InvalidComponent(_Unprocessable):
    """422: a combo component names no offering of the tenant, or a combo."""

    code = "invalid_component"
    title = "Invalid combo component"

    def __init__(self, position: int) -> None:
        super().__init__("Each component must name a timed or pass offering of the tenant.",
                         extra={"position": position})


class ComboConsentRequired(Forbidden):
    """403: a combo component of another department needs that department's consent: only a
    tenant admin, a manager of both departments or a client with ``ticketing:write`` adds or
    changes it (it grants admissions at that department's gates and books money to it)."""

    code = "combo_component_consent_required"
    title = "Another department's consent is required"

    def __init__(self, position: int, department: str) -> None:
        super().__init__(f"A component of '{department}' is added or changed only by someone "
                         f"who also manages '{department}' (or a tenant admin).",
                         extra={"position": position, "department": department})


class ComboSharesMismatch(_Unprocessable):
    """422: the components' shares do not add up to the combo ticket type's price."""

    code = "combo_shares_mismatch"
    title = "Combo shares do not add up to the price"

    def __init__(self, price: int, shares: int) -> None:
        super().__init__("The sum of the component shares must equal the price.",
                         extra={"price": price, "shares_total": shares})


class InvalidRange(_Unprocessable):
    """422: ``from`` lies after ``to``."""

    code = "invalid_range"
    title = "Invalid date range"


class RangeTooLong(_Unprocessable):
    """422: the date range covers more days than this operation allows."""

    code = "range_too_long"
    title = "Date range too long"

    def __init__(self, max_days: int) -> None:
        super().__init__(f"The range may cover at most {max_days} days.",
                         extra={"max_days": max_days})


class SlotExists(Conflict):
    """409: the offering already has a slot starting at that instant."""

    code = "slot_exists"
    title = "Slot already exists"


class CapacityBelowReserved(Conflict):
    """409: the new capacity is below the places already held and sold."""

    code = "capacity_below_reserved"
    title = "Capacity below reserved places"

    def __init__(self, reserved: int) -> None:
        super().__init__("The capacity cannot go below the places already held and sold.",
                         extra={"reserved": reserved})


class SlotHasReservations(Conflict):
    """409: a slot with held or sold places cannot be cancelled (refunds are not automated)."""

    code = "slot_has_reservations"
    title = "Slot has reservations"
