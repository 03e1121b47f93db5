"""The domain errors of working a case, each with its HTTP status and stable ``code``.
Details never quote submitted values."""

from __future__ import annotations

from collections.abc import Sequence

from city_shared.errors import Conflict, DomainError, Forbidden, NotFound

__all__ = [
    "ActionNotAllowed",
    "ActionNotFound",
    "AssigneeNotAllowed",
    "AttachmentKindNotRequested",
    "CaseVersionMismatch",
    "FieldsNotRequested",
    "InvalidDeadline",
    "InvalidFields",
    "NoInformationRequested",
    "NotCaseStaff",
    "PartsOpen",
    "PreconditionRequired",
    "PublicNoteRequired",
]


class PreconditionRequired(DomainError):
    """428: a change of a case needs ``If-Match`` with the case's version (its ETag)."""

    status = 428
    code = "precondition_required"
    title = "Precondition required"

    def __init__(self) -> None:
        super().__init__('Send If-Match with the case\'s ETag (e.g. "3").')


class CaseVersionMismatch(DomainError):
    """412: the case changed since the caller read it (``version`` is the current one)."""

    status = 412
    code = "case_version_mismatch"
    title = "Case changed meanwhile"

    def __init__(self, version: int) -> None:
        super().__init__("The case changed since you read it; read it again.",
                         extra={"version": version}, headers={"ETag": f'"{version}"'})


class ActionNotFound(NotFound):
    """404: the case's process has no action of this name."""

    code = "action_not_found"
    title = "No such action"


class ActionNotAllowed(Forbidden):
    """403: the caller may see the case but holds no role that may take this action."""

    code = "action_not_allowed"
    title = "Action not allowed"


class NotCaseStaff(Forbidden):
    """403: only staff of the case's department (with the named role) may do this."""

    code = "action_not_allowed"
    title = "Action not allowed"


class PartsOpen(Conflict):
    """409: parts of other departments are still unanswered."""

    code = "parts_open"
    title = "Parts not answered"


class PublicNoteRequired(DomainError):
    """422: this action needs a note for the applicant (``public_note``)."""

    status = 422
    code = "public_note_required"
    title = "Public note required"


class InvalidFields(DomainError):
    """422: a request for information names fields the form does not have."""

    status = 422
    code = "unknown_fields"
    title = "Unknown form fields"

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__("The form has no such fields.", extra={"fields": list(fields)[:50]})


class InvalidDeadline(DomainError):
    """422: the deadline is not between tomorrow and a year from now."""

    status = 422
    code = "invalid_deadline"
    title = "Invalid deadline"


class FieldsNotRequested(DomainError):
    """422: the answer changes fields the request did not ask for."""

    status = 422
    code = "fields_not_requested"
    title = "Fields not requested"

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__("Only the requested fields may be changed.",
                         extra={"fields": list(fields)[:50]})


class NoInformationRequested(Conflict):
    """409: no request for information is open on the case."""

    code = "no_information_requested"
    title = "No information requested"


class AttachmentKindNotRequested(Conflict):
    """409: the open request for information does not ask for this attachment kind."""

    code = "attachment_not_requested"
    title = "Attachment not requested"


class AssigneeNotAllowed(DomainError):
    """422: the assignee is no valid staff account id."""

    status = 422
    code = "invalid_assignee"
    title = "Invalid assignee"
