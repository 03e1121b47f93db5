"""The domain errors of the intake, each with its HTTP status and stable ``code``. A sender
never learns of another sender's submissions or of another tenant's destinations: "not found".

These answer transport mistakes (wrong state, missing uploads); a payload that arrives but
cannot be accepted is not an error but a rejected submission (:data:`REJECT_REASONS`).
"""

from __future__ import annotations

from typing import Final

from city_shared.errors import Conflict, DomainError, NotFound, ValidationFailed

__all__ = [
    "REJECT_REASONS",
    "AttachmentNotAnnounced",
    "AttachmentsNotUploaded",
    "DestinationNotFound",
    "KeyNotFound",
    "MalformedJwe",
    "ServiceNotAccepted",
    "SubmissionNotFound",
    "TransportCaseNotFound",
    "UnsupportedUploadType",
]

REJECT_REASONS: Final = (
    "decryption_failed", "metadata_invalid", "hash_mismatch", "attachments_mismatch",
    "service_not_offered", "form_invalid", "attachment_invalid", "case_not_opened",
)
"""Why a submission was rejected (``rejectReason`` and the ``reject-submission`` event)."""


class DestinationNotFound(NotFound):
    code = "destination_not_found"
    title = "Destination not found"


class KeyNotFound(NotFound):
    code = "key_not_found"
    title = "Key not found"


class SubmissionNotFound(NotFound):
    """404: no such submission, or one of another sender or tenant."""

    code = "submission_not_found"
    title = "Submission not found"


class TransportCaseNotFound(NotFound):
    code = "transport_case_not_found"
    title = "Case not found"


class ServiceNotAccepted(ValidationFailed):
    """422: the destination does not accept this service type."""

    code = "service_not_accepted"
    title = "Service not accepted by this destination"


class AttachmentNotAnnounced(ValidationFailed):
    code = "attachment_not_announced"
    title = "Attachment not announced"


class AttachmentsNotUploaded(Conflict):
    """409: submit before every announced attachment was uploaded."""

    code = "attachments_not_uploaded"
    title = "Announced attachments missing"

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"{len(missing)} announced attachment(s) not uploaded yet.",
                         extra={"missing_attachments": list(missing)})


class MalformedJwe(ValidationFailed):
    code = "malformed_jwe"
    title = "Not a compact JWE"


class UnsupportedUploadType(DomainError):
    """415: attachments are uploaded as ``application/jose`` (a compact JWE)."""

    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"
