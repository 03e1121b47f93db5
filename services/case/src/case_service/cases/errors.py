"""The domain errors of cases and submission, each with its HTTP status and stable ``code``.
Details never quote submitted values."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from city_shared.errors import Conflict, DomainError, Forbidden, NotFound

__all__ = [
    "AttachmentNotFound",
    "AttachmentsMissing",
    "AttachmentsNotPossible",
    "CaseNotFound",
    "DraftSubmitted",
    "NotAnApplicant",
    "NothingDue",
    "PaymentPending",
]


class CaseNotFound(NotFound):
    """404: no such case, or one the caller may not see."""

    code = "case_not_found"
    title = "Case not found"


class AttachmentNotFound(NotFound):
    """404: no such attachment of this case."""

    code = "attachment_not_found"
    title = "Attachment not found"


class DraftSubmitted(Conflict):
    """409: the draft became a case already (``case_id`` names it). The same code as the
    drafts slice's error for changing a submitted draft; submitting adds the case."""

    code = "draft_submitted"
    title = "Draft already submitted"

    def __init__(self, case_id: uuid.UUID) -> None:
        super().__init__("This draft has been submitted already.",
                         extra={"case_id": str(case_id)})


class AttachmentsMissing(DomainError):
    """422: attachments the service requires are missing (``kinds`` names them)."""

    status = 422
    code = "attachments_missing"
    title = "Attachments missing"

    def __init__(self, kinds: Sequence[str]) -> None:
        super().__init__("Required attachments are missing.", extra={"kinds": list(kinds)})


class AttachmentsNotPossible(DomainError):
    """422: the service requires attachments, which this channel cannot carry."""

    status = 422
    code = "attachments_not_possible"
    title = "Attachments required"

    def __init__(self, kinds: Sequence[str]) -> None:
        super().__init__("This service requires attachments; apply with a draft instead.",
                         extra={"kinds": list(kinds)})


class NotAnApplicant(Forbidden):
    """403: staff, or a client without ``case:write``, or a citizen naming someone else."""

    code = "forbidden"


class NothingDue(Conflict):
    """409: the case has nothing to pay (no fee, or it is paid)."""

    code = "nothing_due"
    title = "Nothing to pay"


class PaymentPending(Conflict):
    """409: the checkout page is not there yet; retry after ``Retry-After`` seconds."""

    code = "payment_pending"
    title = "Payment not ready"
    default_headers = {"Retry-After": "2"}
