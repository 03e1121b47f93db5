"""Sandboxed Jinja2 for templates: checking a template's text against its declared variables,
trying it for cost, and rendering it with a message's params. No I/O, no database.

Two environments share the filters: plain text (no escaping) and HTML (autoescaped). Both are
the bounded sandbox of :mod:`.sandbox` with :class:`~jinja2.StrictUndefined`: a template can
neither reach unsafe attributes (``''.__class__``) nor silently print an empty variable, nor
run longer or build more than the limits allow. Every failure is one of
:class:`TemplateSyntaxProblem`, :class:`UndeclaredVariables`, :class:`RenderFailed` or
:class:`~.limits.TooExpensive`, never a bare Jinja exception. Rendering is CPU work: async
callers run it in a worker thread.

Built-in names available to every template: ``locale`` (``de`` or ``en``). Filters:
``money(cents, currency="EUR")`` ("8,00 €" in German, "€8.00" in English) and
``datetime(iso)`` (local time in Europe/Berlin, "12.03.2026, 10:30" / "12 Mar 2026, 10:30")
and ``until(iso)`` for deadlines (a deadline at local midnight is the end of the day before:
"17.06.2026" / "17 Jun 2026"; any other time as ``datetime``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from jinja2 import (
    ChainableUndefined,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    meta,
    pass_context,
)
from jinja2.runtime import Context

from notification_service.templates.limits import MAX_OUTPUT, Budget, TooExpensive, budgeted
from notification_service.templates.sandbox import BoundedSandbox, metered

__all__ = [
    "BUILTIN_NAMES",
    "Budget",
    "RenderFailed",
    "TemplateSyntaxProblem",
    "TooExpensive",
    "UndeclaredVariables",
    "check_text",
    "render_text",
    "try_text",
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


@pass_context
def until(context: Context, value: object) -> str:
    """A deadline as the last day it allows (local midnight ends the day before), with the
    time only when it is not midnight; empty for null."""
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(_ZONE)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        return local_datetime(context, moment)
    day = moment.date() - timedelta(days=1)
    if _locale(context) == "en":
        return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return f"{day:%d.%m.%Y}"


def _environment(*, html: bool, lenient: bool = False) -> BoundedSandbox:
    env = BoundedSandbox(undefined=ChainableUndefined if lenient else StrictUndefined,
                         autoescape=html, keep_trailing_newline=True, trim_blocks=True,
                         lstrip_blocks=True)
    env.filters["money"] = metered(money)
    env.filters["datetime"] = metered(local_datetime)
    env.filters["until"] = metered(until)
    return env


@lru_cache(maxsize=4)
def environment(html: bool = False, lenient: bool = False) -> BoundedSandbox:
    """The shared environment (one per escaping mode; ``lenient``: every undefined name is an
    empty value, for trying a text without params)."""
    return _environment(html=html, lenient=lenient)


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


def _render(env: BoundedSandbox, source: str, values: Mapping[str, object],
            budget: Budget) -> str:
    parts: list[str] = []
    size = 0
    try:
        with budgeted(budget):
            for chunk in env.from_string(source).generate(values):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise TooExpensive("output")
                parts.append(chunk)
    except RecursionError:
        raise TooExpensive("recursion") from None
    except MemoryError:
        raise TooExpensive("size") from None
    return "".join(parts)


def render_text(source: str, context: RenderContext, *, html: bool = False,
                budget: Budget | None = None) -> str:
    """Render ``source`` (already checked when it was saved) in the bounded sandbox, charging
    ``budget`` (default: a budget of its own). CPU-bound: call it off the event loop.

    :raises TooExpensive: a limit of :mod:`.limits` was exceeded.
    :raises RenderFailed: anything else Jinja refuses at run time, including unsafe access.
    """
    try:
        return _render(environment(html), source, context.as_dict(), budget or Budget())
    except TemplateError as exc:
        raise RenderFailed(type(exc).__name__) from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise RenderFailed(type(exc).__name__) from None


def try_text(source: str, locale: str, budget: Budget, *, html: bool = False) -> None:
    """Render ``source`` without params (every variable an empty value) to find a text that
    exceeds the limits whatever the params. Other failures are no finding: real params may
    well fit.

    :raises TooExpensive: it exceeds a limit even so.
    """
    try:
        _render(environment(html, lenient=True), source, {"locale": locale}, budget)
    except TooExpensive:
        raise
    except Exception:  # a failure without params says nothing about the cost
        return
