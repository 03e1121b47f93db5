"""Constrained value types for the payments slice's HTTP schemas and commands.

Every string a client sends is bounded and free of control characters and lone surrogates
(PostgreSQL rejects NUL, UTF-8 rejects surrogates: either would otherwise be a 500). Amounts
are strict integers in minor units: ``"12"``, ``12.0`` and ``true`` are rejected, not coerced.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AwareDatetime, BeforeValidator, Field, StringConstraints

from city_shared.slugs import Slug
from city_shared.text import SINGLE_LINE, single_line_text
from city_shared.urls import HttpUrlText

__all__ = [
    "AMOUNT_MAX",
    "Amount",
    "CostCentre",
    "Currency",
    "Instant",
    "LineAmount",
    "Metadata",
    "Reference",
    "ReturnUrl",
    "Slug",
    "Text",
]

AMOUNT_MAX: Final = 100_000_000_000


_RFC3339: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)


def _rfc3339_only(value: object) -> object:
    """Pydantic's lax mode reads ``0.5`` or ``"1700000000"`` as a Unix time; the API documents
    an RFC 3339 date-time and refuses anything else with a 422."""
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        return value
    raise ValueError("expected an RFC 3339 date-time with offset, e.g. 2027-03-22T08:00:00Z")


#: A point in time given as an RFC 3339 date-time with offset; numbers are refused.
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only),
                    Field(examples=["2027-03-22T08:00:00Z"])]
#: A positive amount in minor units (cents).
Amount = Annotated[int, Field(strict=True, ge=1, le=AMOUNT_MAX, examples=[1300])]
#: A line item's amount: zero allowed (a free child ticket still has a line).
LineAmount = Annotated[int, Field(strict=True, ge=0, le=AMOUNT_MAX, examples=[800])]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(examples=["EUR"])]
#: Human text: trimmed, 1..255 characters.
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), SINGLE_LINE,
]
#: The caller's reference, matched exactly (not trimmed).
Reference = Annotated[
    str, StringConstraints(min_length=1, max_length=255), SINGLE_LINE,
    Field(examples=["ticketing/order/7f3c"]),
]
CostCentre = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,31}$"),
    Field(examples=["MUS-4100"]),
]
ReturnUrl = Annotated[
    HttpUrlText, Field(examples=["https://museum.musterstadt.example/orders/7f3c/paid"]),
]
_METADATA_KEY: Final = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
METADATA_MAX_ENTRIES: Final = 20


def _metadata(value: object) -> object:
    """Check the whole map at once, so that no error location quotes a submitted key."""
    if not isinstance(value, dict):
        raise ValueError("must be an object of strings")
    if len(value) > METADATA_MAX_ENTRIES:
        raise ValueError(f"must have at most {METADATA_MAX_ENTRIES} entries")
    for key, item in value.items():
        if not isinstance(key, str) or not _METADATA_KEY.fullmatch(key):
            raise ValueError("keys must be 1-50 of the characters A-Z a-z 0-9 _ . -")
        if not isinstance(item, str) or len(item) > 255:
            raise ValueError("values must be strings of at most 255 characters")
        single_line_text(item)
    return value


#: A small string map the caller attaches (e.g. its own ids); returned as given.
Metadata = Annotated[dict[str, str], BeforeValidator(_metadata)]
