"""The domain errors of parts (the shared folder), each with its HTTP status and stable
``code``. Details never quote submitted values."""

from __future__ import annotations

from city_shared.errors import Conflict, DomainError, NotFound

__all__ = ["PartNotFound", "PartNotOpen", "PartVersionMismatch", "PreconditionRequired"]


class PartNotFound(NotFound):
    """404: no such part, or one the caller may not see (another department's, another
    tenant's)."""

    code = "part_not_found"
    title = "Part not found"


class PartNotOpen(Conflict):
    """409: the part is not waiting for an answer (``waiting`` for an earlier part of its
    sequence, already ``answered``, or ``cancelled``); ``part_status`` says which."""

    code = "part_not_open"
    title = "Part not open"

    def __init__(self, status: str) -> None:
        super().__init__(f"This part is '{status}' and cannot be answered.",
                         extra={"part_status": status})


class PreconditionRequired(DomainError):
    """428: a change of a part needs ``If-Match`` with the part's ``ETag``."""

    status = 428
    code = "precondition_required"
    title = "Precondition required"

    def __init__(self) -> None:
        super().__init__("Send If-Match with the ETag of the part as you read it.")


class PartVersionMismatch(DomainError):
    """412: ``If-Match`` names another version than the part's current one."""

    status = 412
    code = "part_version_mismatch"
    title = "Part changed meanwhile"

    def __init__(self, current: int) -> None:
        super().__init__("The part was changed since you read it; read it again.",
                         extra={"current_version": current})
