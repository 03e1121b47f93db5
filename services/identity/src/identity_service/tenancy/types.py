"""Constrained text types for the identity service's HTTP schemas.

Every string a client sends is bounded and free of control characters and lone surrogates,
which PostgreSQL (NUL) or UTF-8 encoding (surrogates) would otherwise reject with a 500.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

__all__ = ["SLUG_PATTERN", "PlainText", "Secret", "Slug", "no_control_characters"]

SLUG_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def no_control_characters(value: str) -> str:
    """Reject control characters (including NUL) and lone surrogates; the message never
    quotes the value."""
    _encodable(value)
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters")
    return value


#: Human text such as a name: trimmed, 1..200 characters, no control characters.
PlainText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(no_control_characters),
]
#: A secret such as a password: taken as sent (no trimming), bounded, valid Unicode.
Secret = Annotated[str, StringConstraints(max_length=4096), AfterValidator(_encodable)]
#: A slug (tenant, department): lower-case letters, digits and hyphens.
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
