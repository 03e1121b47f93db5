"""The domain errors of attachments, each with its HTTP status and stable ``code``. Details
never quote file names or contents."""

from __future__ import annotations

from city_shared.errors import Conflict, DomainError, NotFound, ValidationFailed

__all__ = [
    "AttachmentNotFound",
    "AttachmentTooLarge",
    "AttachmentTypeNotAllowed",
    "TooManyAttachments",
    "UnknownAttachmentKind",
]


class AttachmentNotFound(NotFound):
    """404: no such attachment on this draft (or not one the caller may see)."""

    code = "attachment_not_found"
    title = "Attachment not found"


class AttachmentTooLarge(DomainError):
    """413: the file is larger than its kind (or the service) accepts; nothing is stored."""

    status = 413
    code = "attachment_too_large"
    title = "Attachment too large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"The file must not exceed {max_bytes} bytes.",
                         extra={"max_bytes": max_bytes}, headers={"Connection": "close"})


class AttachmentTypeNotAllowed(DomainError):
    """415: the content is not of a media type the kind accepts, or is not what the request's
    ``Content-Type`` declared."""

    status = 415
    code = "attachment_type_not_allowed"
    title = "Attachment type not allowed"

    def __init__(self, detail: str, *, allowed: list[str], detected: str | None) -> None:
        super().__init__(detail, extra={"allowed_media_types": list(allowed),
                                        "detected_media_type": detected})


class UnknownAttachmentKind(ValidationFailed):
    """422: the service asks for no attachment of this kind."""

    code = "unknown_attachment_kind"
    title = "Unknown attachment kind"

    def __init__(self, kinds: list[str]) -> None:
        super().__init__("This service asks for no attachment of that kind.",
                         extra={"kinds": list(kinds)})


class TooManyAttachments(Conflict):
    """409: the draft already holds as many attachments as allowed."""

    code = "too_many_attachments"
    title = "Too many attachments"

    def __init__(self, limit: int) -> None:
        super().__init__(f"A draft holds at most {limit} attachments.", extra={"limit": limit})
