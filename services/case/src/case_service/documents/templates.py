"""The template language of documents: Jinja2 in an immutable sandbox, autoescape off (the
output goes into a PDF, not HTML), restricted further to what a letter needs.

Beyond the sandbox (no private attributes, no mutation), a template may use only output,
``if``, one level of ``for``, comparisons, ``~`` concatenation, ``+``/``-`` and the filters of
:data:`FILTERS`: no assignments, macros, calls, imports, multiplication or ``range``, so the
work and the output of a render grow at most linearly with the template's own size, and the
output is cut off at :data:`MAX_OUTPUT` characters anyway. :func:`validate` compiles every text
and renders it against sample data with ``StrictUndefined`` (an approval and a rejection);
:func:`render` renders a stored, validated template for a case and prints a missing value as
nothing, so a template can never block a decision.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Final

from jinja2 import (
    ChainableUndefined,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
    meta,
    nodes,
    pass_context,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from case_service.documents.errors import InvalidTemplate, TemplateProblem

__all__ = ["FIELDS", "FILTERS", "MAX_OUTPUT", "VARIABLES", "RenderedTexts", "render",
           "sample_context", "validate"]

#: The texts of one locale of a template; ``body`` is a list of paragraphs.
FIELDS: Final = ("title", "subject", "body", "closing", "legal_remedy")
#: The names a template may use (see :func:`sample_context` for their members).
VARIABLES: Final = frozenset({"case", "applicant", "office", "tenant", "locale"})
#: Characters one rendered text may have.
MAX_OUTPUT: Final = 20_000
_MAX_LOOP_DEPTH: Final = 1

_ALLOWED_NODES: Final = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.Getattr,
    nodes.Getitem, nodes.Filter, nodes.Test, nodes.If, nodes.CondExpr, nodes.And, nodes.Or,
    nodes.Not, nodes.Neg, nodes.Pos, nodes.Compare, nodes.Operand, nodes.Concat, nodes.For,
    nodes.List, nodes.Tuple, nodes.Keyword, nodes.Add, nodes.Sub,
)


def _date(context: Context, value: object) -> str:
    """An ISO date (or date/datetime) in the template's locale: ``31.03.2027`` /
    ``31 March 2027``; anything else unchanged."""
    day: date | None = None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if day is None:
        return "" if value is None else str(value)
    return format_date(day, str(context.get("locale", "de")))


_MONTHS_EN: Final = ("January", "February", "March", "April", "May", "June", "July",
                     "August", "September", "October", "November", "December")


def format_date(day: date, locale: str) -> str:
    """``day`` as a letter writes it in ``locale`` (``de``: 31.03.2027)."""
    if locale == "en":
        return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return day.strftime("%d.%m.%Y")


#: The filters a template may use.
FILTERS: Final = frozenset({
    "default", "d", "upper", "lower", "title", "capitalize", "trim", "join", "length", "count",
    "first", "last", "round", "int", "string", "dictsort", "items", "date",
})


def _environment(undefined: type[StrictUndefined] | type[ChainableUndefined],
                 ) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=False, undefined=undefined,
                                        keep_trailing_newline=False, auto_reload=False)
    env.filters = {name: f for name, f in env.filters.items() if name in FILTERS}
    env.filters["date"] = pass_context(_date)
    env.globals.clear()
    return env


_STRICT: Final = _environment(StrictUndefined)
_LENIENT: Final = _environment(ChainableUndefined)


class _TooLong(Exception):
    pass


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _check(node: nodes.Node, loops: int = 0) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        raise _Refused(f"'{type(node).__name__}' is not allowed in document templates.")
    if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
        raise _Refused("Attributes starting with '_' are not allowed.")
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(
            node.arg.value, str) and node.arg.value.startswith("_"):
        raise _Refused("Keys starting with '_' are not allowed.")
    if isinstance(node, nodes.Filter | nodes.Test) and node.name not in (
            FILTERS if isinstance(node, nodes.Filter) else _STRICT.tests):
        raise _Refused(f"The filter or test '{node.name}' is not allowed.")
    if isinstance(node, nodes.For):
        if node.recursive or loops >= _MAX_LOOP_DEPTH:
            raise _Refused("Only one level of 'for' is allowed.")
        loops += 1
    for child in node.iter_child_nodes():
        _check(child, loops)


@lru_cache(maxsize=256)
def _compiled(source: str, strict: bool) -> Template:
    env = _STRICT if strict else _LENIENT
    ast = env.parse(source)
    _check(ast)
    unknown = sorted(meta.find_undeclared_variables(ast) - VARIABLES)
    if unknown:
        raise UndefinedError(f"'{unknown[0]}' is undefined")
    return env.from_string(ast)


def _bounded(chunks: Iterator[str]) -> str:
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise _TooLong
        out.append(chunk)
    return "".join(out)


def _render_one(source: str, context: Mapping[str, Any], *, strict: bool) -> str:
    return _bounded(_compiled(source, strict).generate(dict(context))).strip()


@dataclass(frozen=True)
class RenderedTexts:
    """The texts of a document in one locale, ready for the PDF (empty paragraphs left out)."""

    title: str
    subject: str
    body: list[str]
    closing: str
    legal_remedy: str


def _sources(texts: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for field in FIELDS:
        value = texts.get(field)
        if isinstance(value, list):
            for index, paragraph in enumerate(value):
                yield f"{field}/{index}", str(paragraph)
        elif value is not None:
            yield field, str(value)


def render(texts: Mapping[str, Any], context: Mapping[str, Any], *,
           pointer: str = "") -> RenderedTexts:
    """Render one locale's stored texts (validated when saved) with ``context``; a value the
    case lacks prints as nothing, a text past :data:`MAX_OUTPUT` as nothing.

    :raises InvalidTemplate: (422) a text that does not compile or that the sandbox refuses
        (only a row that bypassed :func:`validate`); ``pointer`` prefixes its JSON pointer.
    """
    rendered: dict[str, str] = {}
    body: list[str] = []
    for key, source in _sources(texts):
        try:
            text = _render_one(source, context, strict=False)
        except _TooLong:
            text = ""
        except _Refused as exc:
            raise InvalidTemplate([_problem(f"{pointer}/{key}", "not_allowed",
                                            exc.message)]) from None
        except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError):
            raise InvalidTemplate([_problem(f"{pointer}/{key}", "render_error",
                                            "The text cannot be rendered.")]) from None
        if key.startswith("body/"):
            if text:
                body.append(text)
        else:
            rendered[key] = text
    return RenderedTexts(title=rendered.get("title", ""), subject=rendered.get("subject", ""),
                         body=body, closing=rendered.get("closing", ""),
                         legal_remedy=rendered.get("legal_remedy", ""))


def _problem(pointer: str, code: str, message: str) -> TemplateProblem:
    return {"pointer": pointer, "code": code, "message": message}


def _problems_of(pointer: str, source: str,
                 contexts: Sequence[Mapping[str, Any]]) -> TemplateProblem | None:
    try:
        for context in contexts:
            _render_one(source, context, strict=True)
    except TemplateSyntaxError as exc:
        return _problem(pointer, "syntax_error", f"Syntax error on line {exc.lineno}.")
    except _Refused as exc:
        return _problem(pointer, "not_allowed", exc.message)
    except SecurityError:
        return _problem(pointer, "not_allowed", "The sandbox refused an operation.")
    except UndefinedError as exc:
        return _problem(pointer, "unknown_variable", _undefined_message(exc))
    except _TooLong:
        return _problem(pointer, "too_long",
                        f"The text renders to more than {MAX_OUTPUT} characters.")
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError):
        return _problem(pointer, "render_error", "The text cannot be rendered with sample "
                                                 "data.")
    return None


def _undefined_message(exc: UndefinedError) -> str:
    # Jinja2's message names the template's own identifier ("'x' is undefined", "'dict object'
    # has no attribute 'y'"), never a value of the data.
    return str(exc.message or "A variable is undefined.")[:200]


def validate(content: Mapping[str, Mapping[str, Any]]) -> None:
    """Compile and render every text of every locale against :func:`sample_context` (an
    approval and a rejection) with ``StrictUndefined``.

    :raises InvalidTemplate: (422 ``invalid_template``) with one problem per broken text, its
        JSON pointer ``/content/<locale>/<field>[/<paragraph>]``.
    """
    problems: list[TemplateProblem] = []
    for locale, texts in content.items():
        contexts = [sample_context(locale, "approved"), sample_context(locale, "rejected")]
        for key, source in _sources(texts):
            problem = _problems_of(f"/content/{locale}/{key}", source, contexts)
            if problem is not None:
                problems.append(problem)
    if problems:
        raise InvalidTemplate(problems)


class _AnyOutcome(dict[str, Any]):
    """An approval's outcome in sample data: any key a service might grant has a value."""

    def __missing__(self, key: str) -> str:
        return "…"


def sample_context(locale: str, decision: str) -> dict[str, Any]:
    """The variables of a template, with sample values (see :mod:`.rendering` for the real
    ones): ``case`` (number, service, submitted_at, decided_at, decision, approved, outcome),
    ``applicant`` (name, street_address, postal_code, locality, address_lines), ``office``
    (address, opening_hours, legal_basis), ``tenant`` (slug, name), ``locale``."""
    approved = decision == "approved"
    outcome: dict[str, Any] = (_AnyOutcome(permit_number="BP-2026-000123",
                                           valid_until="2027-03-31")
                               if approved else {})
    return {
        "locale": locale,
        "case": {"number": "MS-2026-000123", "service": "Bewohnerparkausweis",
                 "submitted_at": format_date(date(2026, 3, 2), locale),
                 "decided_at": format_date(date(2026, 3, 9), locale), "decision": decision,
                 "approved": approved, "outcome": outcome},
        "applicant": {"name": "Erika Mustermann", "street_address": "Heidestraße 17",
                      "postal_code": "51147", "locality": "Köln",
                      "address_lines": ["Heidestraße 17", "51147 Köln"]},
        "office": {"address": "Bürgerbüro, Rathausplatz 1, 12345 Musterstadt",
                   "opening_hours": "Mo-Fr 8-12 Uhr", "legal_basis": "§ 45 StVO"},
        "tenant": {"slug": "musterstadt", "name": "Musterstadt"},
    }
