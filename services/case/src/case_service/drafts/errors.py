"""The domain errors of drafts, each with its HTTP status and stable ``code``. Another owner's or
another tenant's draft, and an expired one, are always "not found"."""

from __future__ import annotations

from city_shared.errors import Conflict, DomainError, NotFound, ValidationFailed

__all__ = ["AccountNotAllowed", "DraftNotFound", "DraftSubmitted", "DraftVersionMismatch"]


class DraftNotFound(NotFound):
    """404: no such draft, not the caller's, or expired."""

    code = "draft_not_found"
    title = "Draft not found"


class DraftSubmitted(Conflict):
    """409: the draft became a case and is read-only."""

    code = "draft_submitted"
    title = "Draft already submitted"

    def __init__(self) -> None:
        super().__init__("This draft was submitted and can no longer be changed.")


class DraftVersionMismatch(DomainError):
    """412: ``If-Match`` names another version than the draft's current one."""

    status = 412
    code = "draft_version_mismatch"
    title = "Draft changed meanwhile"

    def __init__(self, current: int) -> None:
        super().__init__("The draft was changed since you read it; read it again.",
                         extra={"current_version": current})


class AccountNotAllowed(ValidationFailed):
    """422: ``account_id`` is only for city systems applying on a citizen's behalf."""

    code = "account_id_not_allowed"
    title = "account_id not allowed"

    def __init__(self) -> None:
        super().__init__("Citizens apply for themselves; leave out account_id.")
