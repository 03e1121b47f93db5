"""Sandboxed Jinja2 for templates: checking a template's text against its declared variables,
and rendering it with a message's params. No I/O, no database.

Two environments share the filters: plain text (no escaping) and HTML (autoescaped). Both are
:class:`~jinja2.sandbox.SandboxedEnvironment` with :class:`~jinja2.StrictUndefined`: a template
can neither reach unsafe attributes (``''.__class__``) nor silently print an empty variable.
Every failure is one of :class:`TemplateSyntaxProblem`, :class:`UndeclaredVariables` or
:class:`RenderFailed`, never a bare Jinja exception.

Built-in names available to every template: ``locale`` (``de`` or ``en``). Filters:
``money(cents, currency="EUR")`` ("8,00 €" in German, "€8.00" in English) and
``datetime(iso)`` (local time in Europe/Berlin, "12.03.2026, 10:30" / "12 Mar 2026, 10:30").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "BUILTIN_NAMES",
    "RenderFailed",
    "TemplateSyntaxProblem",
    "UndeclaredVariables",
    "check_text",
    "render_text",
]

BUILTIN_NAMES: Final = frozenset({"locale"})
_ZONE: Final = ZoneInfo("Europe/Berlin")
_SYMBOLS: Final = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}
_MONTHS_EN: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                     "Nov", "Dec")


class TemplateSyntaxProblem(Exception):
    """The text does not parse; ``line`` is 1-based."""

    def __init__(self, line: int) -> None:
        super().__init__(f"syntax error on line {line}")
        self.line = line


class UndeclaredVariables(Exception):
    """The text uses variables the template does not declare."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(names)
        super().__init__(", ".join(self.names))


class RenderFailed(Exception):
    """Rendering failed (an undefined attribute, an unsafe access, a type error); ``kind`` is
    the Jinja error's class name, never its message (it may quote params)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _locale(context: Context) -> str:
    value = context.get("locale")
    return value if value in ("de", "en") else "de"


@pass_context
def money(context: Context, cents: object, currency: object = "EUR") -> str:
    """``cents`` (integer minor units) as an amount for the template's locale."""
    if isinstance(cents, bool) or not isinstance(cents, int | str):
        raise TypeError("money() needs an integer amount in cents")
    amount = Decimal(int(cents)) / 100
    code = str(currency).upper()
    symbol = _SYMBOLS.get(code, code)
    if _locale(context) == "en":
        sign = "-" if amount < 0 else ""
        return f"{sign}{symbol}{abs(amount):,.2f}"
    text = f"{amount:,.2f}".replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return f"{text} {symbol}"


@pass_context
def local_datetime(context: Context, value: object) -> str:
    """An ISO 8601 timestamp as local time (Europe/Berlin); empty for null."""
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(_ZONE)
    if _locale(context) == "en":
        return f"{moment.day} {_MONTHS_EN[moment.month - 1]} {moment.year}, {moment:%H:%M}"
    return f"{moment:%d.%m.%Y, %H:%M}"


def _environment(*, html: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=html,
                               keep_trailing_newline=True, trim_blocks=True,
                               lstrip_blocks=True)
    env.filters["money"] = money
    env.filters["datetime"] = local_datetime
    return env


@lru_cache(maxsize=2)
def environment(html: bool = False) -> SandboxedEnvironment:
    """The shared environment (one per escaping mode)."""
    return _environment(html=html)


def check_text(source: str, declared: Iterable[str], *, html: bool = False) -> None:
    """Check that ``source`` parses and uses only ``declared`` variables (plus built-ins).

    :raises TemplateSyntaxProblem: it does not parse.
    :raises UndeclaredVariables: it uses a variable not declared.
    """
    env = environment(html)
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateSyntaxProblem(exc.lineno) from None
    unknown = meta.find_undeclared_variables(ast) - set(declared) - BUILTIN_NAMES
    if unknown:
        raise UndeclaredVariables(unknown)


@dataclass(frozen=True)
class RenderContext:
    """What a template sees: the params plus the built-ins."""

    params: Mapping[str, object]
    locale: str

    def as_dict(self) -> dict[str, object]:
        return {**self.params, "locale": self.locale}


def render_text(source: str, context: RenderContext, *, html: bool = False) -> str:
    """Render ``source`` (already checked when it was saved) in the sandbox.

    :raises RenderFailed: anything Jinja refuses at run time, including unsafe access.
    """
    env = environment(html)
    try:
        return env.from_string(source).render(context.as_dict())
    except TemplateError as exc:
        raise RenderFailed(type(exc).__name__) from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise RenderFailed(type(exc).__name__) from None
