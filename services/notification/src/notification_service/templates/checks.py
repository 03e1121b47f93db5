"""Checks of template content without I/O: the texts against the declared variables
(:func:`validate`, at save), their cost (:func:`check_cost`, at save), a stored version read
back (:func:`stored`, at send and when a rule is saved) and which of a rule's channels a
content lacks (:func:`missing_channels`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ValidationError

from city_shared.errors import FieldError
from notification_service.templates.errors import (
    TemplateBroken,
    TemplateInvalid,
    TemplateTooExpensive,
)
from notification_service.templates.models import TemplateVersion
from notification_service.templates.rendering import (
    Budget,
    TemplateSyntaxProblem,
    TooExpensive,
    UndeclaredVariables,
    check_text,
    try_text,
)
from notification_service.templates.schemas import (
    LocaleContent,
    TemplateContent,
    TemplateUpdate,
    Variable,
)
from notification_service.types import CHANNELS

__all__ = ["Stored", "check_cost", "missing_channels", "stored", "validate"]


def validate(data: TemplateUpdate) -> None:
    """Check every text against the declared variables.

    :raises TemplateInvalid: (422 ``template_invalid``) a syntax error or undeclared variables,
        each located (``errors[].loc``), the undeclared names in ``variables``.
    """
    declared = {v.name for v in data.variables}
    errors: list[FieldError] = []
    unknown: set[str] = set()
    for loc, source, html in data.content.texts():
        try:
            check_text(source, declared, html=html)
        except TemplateSyntaxProblem as exc:
            errors.append(FieldError(loc=["content", *loc],
                                     msg=f"Template syntax error on line {exc.line}.",
                                     type="template_syntax"))
        except UndeclaredVariables as exc:
            unknown.update(exc.names)
            errors.append(FieldError(loc=["content", *loc],
                                     msg=f"Undeclared variables: {', '.join(exc.names)}.",
                                     type="undeclared_variable"))
    if errors:
        detail = (f"Undeclared variables: {', '.join(sorted(unknown))}." if unknown
                  else "A text is not a valid template.")
        raise TemplateInvalid(detail, errors=errors, variables=sorted(unknown))


def check_cost(data: TemplateUpdate) -> None:
    """Try every text (already validated) without params, each locale on a budget of its own
    as a message would be. CPU-bound: call it off the event loop.

    :raises TemplateTooExpensive: (422 ``template_too_expensive``) a text exceeds the
        rendering limits whatever the params; ``errors[].loc`` locate them.
    """
    errors: list[FieldError] = []
    budgets: dict[str, Budget] = {}
    for loc, source, html in data.content.texts():
        locale = str(loc[0])
        try:
            try_text(source, locale, budgets.setdefault(locale, Budget()), html=html)
        except TooExpensive as exc:
            budgets[locale] = Budget()
            errors.append(FieldError(loc=["content", *loc],
                                     msg=f"The text exceeds the {exc.limit} limit.",
                                     type="template_too_expensive"))
    if errors:
        raise TemplateTooExpensive(
            "A text exceeds the rendering limits (loop size, size of a string or list, "
            "output, work or time) whatever the params.", errors=errors)


@dataclass(frozen=True)
class Stored:
    """A stored version, read back and checked."""

    variables: list[Variable]
    content: TemplateContent


def stored(version: TemplateVersion, *, check_texts: bool = True) -> Stored:
    """``version`` as validated models, its texts checked as at save time (unless
    ``check_texts`` is false: rendering finds a broken text anyway, without parsing twice).

    :raises TemplateBroken: the row no longer validates (written around the API, or by an
        older release with other rules).
    """
    try:
        data = TemplateUpdate.model_validate({"variables": version.variables,
                                              "content": version.content})
        if check_texts:
            validate(data)
    except (ValidationError, TemplateInvalid):
        raise TemplateBroken("The stored template version is not valid.") from None
    return Stored(data.variables, data.content)


def missing_channels(content: TemplateContent, channels: Iterable[object]) -> list[str]:
    """The known ``channels`` some locale of ``content`` has no text for (a reader of that
    language would get nothing on that channel), sorted."""
    wanted = {c for c in channels if isinstance(c, str) and c in CHANNELS}
    missing: set[str] = set()
    for locale in ("de", "en"):
        part: LocaleContent | None = getattr(content, locale)
        if part is not None:
            missing.update(c for c in wanted if getattr(part, c) is None)
    return sorted(missing)
