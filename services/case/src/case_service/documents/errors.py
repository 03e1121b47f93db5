"""The domain errors of decision documents and their templates, each with its HTTP status and
stable ``code``. Details never quote template texts or case data."""

from __future__ import annotations

from collections.abc import Sequence

from city_shared.errors import DomainError, NotFound

__all__ = ["DocumentNotFound", "InvalidTemplate", "TemplateProblem"]

TemplateProblem = dict[str, str]
"""``{"pointer": "/content/de/body/0", "code": "syntax_error" | "unknown_variable" |
"not_allowed" | "too_long" | "render_error", "message": "..."}``."""


class DocumentNotFound(NotFound):
    """404: no such document of this case, or a download link that is not (or no longer)
    valid. Says nothing about which."""

    code = "document_not_found"
    title = "Document not found"


class InvalidTemplate(DomainError):
    """422: a document template does not compile or render against sample data, or uses
    something the sandbox refuses; ``errors`` lists each problem with a JSON pointer into the
    request body."""

    status = 422
    code = "invalid_template"
    title = "Invalid document template"

    def __init__(self, errors: Sequence[TemplateProblem]) -> None:
        super().__init__("The document template cannot be used.",
                         extra={"errors": [dict(e) for e in errors]})
