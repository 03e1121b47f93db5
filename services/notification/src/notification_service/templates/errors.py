"""The domain errors of the templates slice, each with its HTTP status and stable ``code``.
Details never quote params (they may hold personal data)."""

from __future__ import annotations

from collections.abc import Sequence

from city_shared.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed

__all__ = [
    "MissingPersonalisation",
    "TemplateBroken",
    "TemplateExists",
    "TemplateInUse",
    "TemplateInvalid",
    "TemplateNotFound",
    "TemplateRenderFailed",
    "TemplateTooExpensive",
    "TemplateTooExpensiveToRender",
    "UnknownTemplate",
]


class TemplateNotFound(NotFound):
    """404: no such template (or version), or the caller may not see it."""

    code = "template_not_found"
    title = "Template not found"


class TemplateExists(Conflict):
    """409: the key is already used in this scope (tenant, department)."""

    code = "template_exists"
    title = "Template exists"


class TemplateInvalid(ValidationFailed):
    """422: a text does not parse or uses variables the template does not declare.

    Extension members: ``variables`` (undeclared names, sorted), ``errors`` (one per text).
    """

    code = "template_invalid"
    title = "Template invalid"

    def __init__(self, detail: str, *, errors: Sequence[FieldError],
                 variables: Sequence[str] = ()) -> None:
        super().__init__(detail, errors=errors, extra={"variables": list(variables)})


class MissingPersonalisation(ValidationFailed):
    """422: required variables were not given; ``missing`` names them."""

    code = "missing_personalisation"
    title = "Missing personalisation"

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(f"Required variables missing: {', '.join(missing)}.",
                         extra={"missing": list(missing)})
        self.missing = list(missing)


class TemplateRenderFailed(DomainError):
    """422: the template failed at run time with these params (e.g. an attribute of a
    param that is not there, or an unsafe access refused by the sandbox)."""

    status = 422
    code = "template_render_failed"
    title = "Template could not be rendered"


class TemplateTooExpensiveToRender(TemplateRenderFailed):
    """422: rendering with these params exceeded the limits (loop size, size of a string or
    list, output, work or time); ``limit`` names which. At send time the message fails with
    this code as its reason."""

    code = "template_too_expensive"
    title = "Template too expensive"


class TemplateTooExpensive(ValidationFailed):
    """422: a text exceeds the rendering limits whatever the params (tried without them).

    Extension members: ``errors`` (one per text, located like ``template_invalid``'s).
    """

    code = "template_too_expensive"
    title = "Template too expensive"

    def __init__(self, detail: str, *, errors: Sequence[FieldError]) -> None:
        super().__init__(detail, errors=errors)


class UnknownTemplate(DomainError):
    """422: a notification names a template key the tenant does not have."""

    status = 422
    code = "unknown_template"
    title = "Unknown template"


class TemplateBroken(DomainError):
    """422: the stored version no longer validates (a legacy or hand-edited row): it cannot
    render any message until a valid version is saved."""

    status = 422
    code = "template_broken"
    title = "Template broken"


class TemplateInUse(Conflict):
    """409: rules use this template, and deleting it or saving this version would break them.

    Extension members: ``rules`` (the ids of the rules it would break, sorted), ``channels``
    (the channels those rules send that the new version has no text for; empty on delete).
    """

    code = "template_in_use"
    title = "Template in use"

    def __init__(self, detail: str, *, rules: Sequence[str],
                 channels: Sequence[str] = ()) -> None:
        super().__init__(detail, extra={"rules": list(rules), "channels": list(channels)})
