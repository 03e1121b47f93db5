"""Domain errors of the tickets slice (rendered as problem+json)."""

from __future__ import annotations

from city_shared.errors import Forbidden, NotFound, ValidationFailed
from city_shared.pagination import InvalidCursor

__all__ = [
    "InvalidCursor",
    "ScanIdReused",
    "TicketCredentialsForbidden",
    "TicketNotFound",
    "VenueNotFound",
]


class TicketNotFound(NotFound):
    """404: no such ticket, or not one the caller may see."""

    code = "ticket_not_found"
    title = "Ticket not found"

    def __init__(self) -> None:
        super().__init__("No such ticket.")


class TicketCredentialsForbidden(Forbidden):
    """403: the caller sees the ticket but its role does not read codes or QR payloads (a
    gatekeeper)."""

    code = "ticket_credentials_forbidden"
    title = "Ticket credentials not for this role"

    def __init__(self) -> None:
        super().__init__("Ticket codes and QR payloads are for the department's cashiers and "
                         "managers and for the ticket's holder.")


class VenueNotFound(NotFound):
    """404: no such venue in the caller's tenant."""

    code = "venue_not_found"
    title = "Venue not found"

    def __init__(self) -> None:
        super().__init__("No such venue.")


class ScanIdReused(ValidationFailed):
    """422: the scan id was already used for a different scan."""

    code = "scan_id_reused"
    title = "Scan id reused"

    def __init__(self) -> None:
        super().__init__("This scan_id was already used for a different scan; a retry must "
                         "send the same body, a new scan a new scan_id.")
